/**
 * `kmsgate hsm …`: the YubiHSM 2 ceremony (docs/yubihsm-setup.md). These commands talk to the
 * device through yubihsm-connector, with secrets derived from the 24-word mnemonic; the
 * implementations are in ../hsm/, one file per command.
 */
import { Option } from 'commander';
import { CliError, printable, type CommandModule } from '../context';
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

export const hsmCommands: CommandModule = (program, { io }) => {
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
};
