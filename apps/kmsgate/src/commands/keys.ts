/**
 * `kmsgate keys list`: the KMS keys the store records (what ListKeys and DescribeKey answer), read
 * straight from the store without a credential: the operator at the host. It only reads.
 */
import { formatTable } from '@kmsgate/core';
import { allKeys } from '../all-keys';
import { printable, withStore, type CommandModule } from '../context';

export const keysCommands: CommandModule = (program, { io }) => {
  const keys = program.command('keys').description('the KMS keys in the store');

  keys
    .command('list')
    .description('list every key: id, aliases, key spec, usage, state and the backend that holds it')
    .option('--backend <id>', "only this backend's keys")
    .option('--json', 'print a JSON array')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const listed = await withStore(io.env, { sealKey: false }, async ({ keys }) =>
        (await allKeys(keys))
          .filter((k) => opts.backend === undefined || k.backendId === opts.backend)
          .map((k) => ({
            keyId: k.keyId,
            aliases: [...keys.aliasNamesOf(k.keyId)].sort(),
            keySpec: k.keySpec,
            keyUsage: k.keyUsage,
            keyState: k.keyState,
            backend: k.backendId,
            createdAt: k.createdAt.toISOString(),
            ...(k.deletionDate ? { deletionDate: k.deletionDate.toISOString() } : {}),
          })),
      );
      if (opts.json) {
        io.stdout(`${JSON.stringify(listed, null, 2)}\n`);
        return;
      }
      if (listed.length === 0) {
        io.stdout(opts.backend === undefined ? 'no keys\n' : `no keys in backend ${printable(opts.backend)}\n`);
        return;
      }
      io.stdout(
        formatTable([
          ['KEY ID', 'ALIASES', 'SPEC', 'USAGE', 'STATE', 'BACKEND'],
          ...listed.map((k) =>
            [
              k.keyId,
              k.aliases.length === 0 ? '-' : k.aliases.join(','),
              k.keySpec,
              k.keyUsage,
              k.deletionDate ? `${k.keyState} (deleted ${k.deletionDate})` : k.keyState,
              k.backend,
            ].map(printable),
          ),
        ]),
      );
    });
};
