/**
 * `kmsgate hsm …`: the YubiHSM 2 ceremony (docs/yubihsm-setup.md). These commands talk to the
 * device through yubihsm-connector, with secrets derived from the 24-word mnemonic; the
 * implementations are in ../hsm/, one file per command.
 */
import { join } from 'node:path';
import { Option } from 'commander';
import { resolveDataDir } from '@kmsgate/store';
import { CliError, printable, type CommandModule } from '../context';
import { hsmAudit } from '../hsm/audit';
import { backup } from '../hsm/backup';
import { newMnemonic } from '../hsm/new-mnemonic';
import { restore } from '../hsm/restore';
import { setup } from '../hsm/setup';
import { upgrade } from '../hsm/upgrade';

/** yubihsm-connector's default listen address. */
const DEFAULT_CONNECTOR = 'http://127.0.0.1:12345';

function connectorOption(): Option {
  return new Option('--connector <url>', 'yubihsm-connector base URL').default(DEFAULT_CONNECTOR);
}

function intArg(name: string, text: string, min: number, max: number): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${name} must be an integer ${min}-${max}, got ${printable(text)}`);
  return n;
}

/** The default backend id (apps/server/src/config.ts's built-in default). */
const DEFAULT_BACKEND = 'yubihsm';

function domainsArg(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  return parts.map((p) => intArg('--domains', p, 1, 16));
}

export const hsmCommands: CommandModule = (program, { io, setExitCode }) => {
  const hsm = program.command('hsm').description('YubiHSM 2 ceremony: mnemonic, setup, upgrade, backup, restore, device log audit (docs/yubihsm-setup.md)');

  hsm
    .command('new-mnemonic')
    .description('a new 24-word BIP-39 mnemonic from device and host randomness, shown once (or written to --out)')
    .addOption(connectorOption())
    .option('--auth-key-id <id>', 'authentication key to ask the device for randomness with', '1')
    .option('--password-file <file>', 'its password (default: the factory password of key 1)')
    .option('--out <file>', 'write the mnemonic to this new file (mode 0600) instead of printing it')
    .action(async (opts: { connector: string; authKeyId: string; passwordFile?: string; out?: string }) => {
      await newMnemonic(
        { connector: opts.connector, authKeyId: intArg('--auth-key-id', opts.authKeyId, 1, 0xfffe), passwordFile: opts.passwordFile, out: opts.out },
        io,
      );
    });

  hsm
    .command('setup')
    .description("take a factory-fresh (or, with --reset, any) device to kmsgate's least-privilege layout, derived from the mnemonic")
    .addOption(connectorOption())
    .requiredOption('--mnemonic-file <file>', 'the 24-word mnemonic (mode 0600)')
    .option('--reset', 'factory-reset the device first: every object on it is erased')
    .option('--domains <list>', "the domains kmsgate's keys live in (the gateway's domains)", '1')
    .option('--secrets-dir <dir>', 'where the runtime, keyadmin and auditor passwords are written (default <data dir>/yubihsm-secrets)')
    .option('--backend <id>', 'backend id for the printed configuration', DEFAULT_BACKEND)
    .action(async (opts: { connector: string; mnemonicFile: string; reset?: boolean; domains: string; secretsDir?: string; backend: string }) => {
      await setup(
        {
          connector: opts.connector,
          mnemonicFile: opts.mnemonicFile,
          reset: opts.reset === true,
          domains: domainsArg(opts.domains),
          secretsDir: opts.secretsDir ?? join(resolveDataDir(io.env), 'yubihsm-secrets'),
          backendId: opts.backend,
        },
        io,
      );
    });

  hsm
    .command('upgrade')
    .description(
      "bring a device an earlier kmsgate set up to this version's layout: each object that differs is replaced under the same ID with the same password",
    )
    .addOption(connectorOption())
    .requiredOption('--mnemonic-file <file>', 'the 24-word mnemonic the device was set up from (mode 0600)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: { connector: string; mnemonicFile: string; dryRun?: boolean }) => {
      await upgrade({ connector: opts.connector, mnemonicFile: opts.mnemonicFile, dryRun: opts.dryRun === true }, io);
    });

  hsm
    .command('backup')
    .description('write every key of a backend, wrapped under the backup wrap key, with its metadata, to a sealed 0600 file')
    .addOption(connectorOption())
    .requiredOption('--mnemonic-file <file>', 'the 24-word mnemonic (mode 0600)')
    .requiredOption('--out <file>', 'the backup file to write')
    .option('--backend <id>', "which backend's keys", DEFAULT_BACKEND)
    .action(async (opts: { connector: string; mnemonicFile: string; out: string; backend: string }) => {
      await backup(opts, io);
    });

  hsm
    .command('restore <file>')
    .description('import the keys of a backup onto a device set up from the same mnemonic, check them, and adopt them into the store')
    .addOption(connectorOption())
    .requiredOption('--mnemonic-file <file>', 'the 24-word mnemonic (mode 0600)')
    .option('--allow-missing', 'restore even though the store holds keys the backup lacks (they stay unusable)')
    .action(async (file: string, opts: { connector: string; mnemonicFile: string; allowMissing?: boolean }) => {
      await restore({ file, connector: opts.connector, mnemonicFile: opts.mnemonicFile, allowMissing: opts.allowMissing === true }, io);
    });

  hsm
    .command('audit')
    .description(
      "read the device log with the auditor key, check its hash chain, reconcile it with kmsgate's audit log, then release it; exit 1 on anything unexplained",
    )
    .option('--connector <url...>', 'yubihsm-connector base URL of each device of the backend', [DEFAULT_CONNECTOR])
    .option('--mnemonic-file <file>', 'derive the auditor password from the mnemonic')
    .option('--password-file <file>', 'or read it from this file (what setup wrote: auditor.password)')
    .option('--backend <id>', "which backend's keys", DEFAULT_BACKEND)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { connector: string[]; mnemonicFile?: string; passwordFile?: string; backend: string; json?: boolean }) => {
      await hsmAudit(
        { connectors: opts.connector, backend: opts.backend, mnemonicFile: opts.mnemonicFile, passwordFile: opts.passwordFile, json: opts.json === true },
        io,
        setExitCode,
      );
    });
};
