/**
 * `kmsgate hsm …`: the YubiHSM 2 ceremony (docs/yubihsm-setup.md). These commands talk to the
 * device through yubihsm-connector, with secrets derived from the 24-word mnemonic; the
 * implementations are in ../hsm/, one file per command.
 */
import { Option } from 'commander';
import { CliError, printable, type CommandModule } from '../context';
import { hsmAudit } from '../hsm/audit';
import { newMnemonic } from '../hsm/new-mnemonic';

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

export const hsmCommands: CommandModule = (program, { io, setExitCode }) => {
  const hsm = program.command('hsm').description('YubiHSM 2 ceremony: mnemonic, setup, backup, restore, device log audit (docs/yubihsm-setup.md)');

  hsm.command('new-mnemonic')
    .description('a new 24-word BIP-39 mnemonic from device and host randomness, shown once (or written to --out)')
    .addOption(connectorOption())
    .option('--auth-key-id <id>', 'authentication key to ask the device for randomness with', '1')
    .option('--password-file <file>', 'its password (default: the factory password of key 1)')
    .option('--out <file>', 'write the mnemonic to this new file (mode 0600) instead of printing it')
    .action(async (opts: { connector: string; authKeyId: string; passwordFile?: string; out?: string }) => {
      await newMnemonic({ connector: opts.connector, authKeyId: intArg('--auth-key-id', opts.authKeyId, 1, 0xfffe), passwordFile: opts.passwordFile, out: opts.out }, io);
    });

  hsm.command('audit')
    .description('read the device log with the auditor key, check its hash chain, reconcile it with kmsgate\'s audit log, then release it; exit 1 on anything unexplained')
    .option('--connector <url...>', 'yubihsm-connector base URL of each device of the backend', [DEFAULT_CONNECTOR])
    .option('--mnemonic-file <file>', 'derive the auditor password from the mnemonic')
    .option('--password-file <file>', 'or read it from this file (what setup wrote: auditor.password)')
    .option('--backend <id>', 'which backend\'s keys', DEFAULT_BACKEND)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { connector: string[]; mnemonicFile?: string; passwordFile?: string; backend: string; json?: boolean }) => {
      await hsmAudit({ connectors: opts.connector, backend: opts.backend, mnemonicFile: opts.mnemonicFile, passwordFile: opts.passwordFile, json: opts.json === true }, io, setExitCode);
    });
};
