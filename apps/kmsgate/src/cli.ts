/**
 * `kmsgate`: operator commands that work directly on the store the server uses, found as the server
 * finds it: the configuration ($KMSGATE_CONFIG, or --config) chooses PostgreSQL with store.url,
 * otherwise the SQLite store in the data dir ($KMSGATE_DATA_DIR, default ./data; $KMS_DB_PATH for
 * the database file). Each command
 * group lives in its own file under commands/ and is listed in COMMANDS.
 * stdout carries results; messages for humans and errors go to stderr.
 */
import { Command, CommanderError } from 'commander';
import { apiKeyCommands } from './commands/api-key';
import { auditCommands } from './commands/audit';
import { backupCommands } from './commands/backup';
import { hsmCommands } from './commands/hsm';
import { initCommands } from './commands/init';
import { keysCommands } from './commands/keys';
import { killSwitchCommands } from './commands/kill-switch';
import { policyCommands } from './commands/policy';
import { serveCommands } from './commands/serve';
import { simulatorCommands } from './commands/simulators';
import { verifyAttestationCommands } from './commands/verify-attestation';
import { CliError, type CliContext, type CliIo, type CommandModule } from './context';
import { VERSION } from './version';

export type { CliIo } from './context';

/** Every command group, in the order `kmsgate --help` lists them. */
const COMMANDS: readonly CommandModule[] = [
  initCommands,
  apiKeyCommands,
  auditCommands,
  backupCommands,
  hsmCommands,
  keysCommands,
  killSwitchCommands,
  policyCommands,
  serveCommands,
  verifyAttestationCommands,
  simulatorCommands,
];

/** Runs the CLI on `args` (without node and script path); resolves to the process exit code. */
export async function run(args: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('kmsgate')
    .description(
      'Run and operate a kmsgate gateway: serve it, its local store (API keys, keys, audit log, kill switch, runtime signing policies, backup and restore), ' +
        'its YubiHSM 2 (ceremony, backup, device log), TEE attestations, the device simulators and the TEE bridge daemon',
    )
    .addHelpText(
      'after',
      "\nThe store is the one the server uses: the PostgreSQL database of the configuration's store.url ($KMSGATE_CONFIG, or --config), " +
        'otherwise $KMSGATE_DATA_DIR/kms.db (default ./data/kms.db, or $KMS_DB_PATH). ' +
        "Commands refuse (exit 2) a store that does not exist or is not kmsgate's; `kmsgate init` (or the gateway's first start) creates it.\n" +
        'Exit codes: 0 done, 1 the check or the operation failed, 2 a usage mistake or a missing or foreign store, ' +
        '141 the reader of the output went away (as for any Unix tool: `| head`).',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--config <file>', "the gateway's configuration file, whose store the commands use (default: $KMSGATE_CONFIG)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run kmsgate --help for usage)');
  // A copy: --config sets KMSGATE_CONFIG in its env, once the options are parsed and before any command runs.
  const cliIo: CliIo = { ...io };
  program.hook('preAction', () => {
    const { config } = program.opts<{ config?: string }>();
    if (config !== undefined) cliIo.env = { ...io.env, KMSGATE_CONFIG: config };
  });
  const ctx: CliContext = {
    io: cliIo,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  for (const register of COMMANDS) register(program, ctx);

  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (e) {
    // --help and --version end with 0; commander's usage errors (unknown option, missing value) are mistakes to fix: 2.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    io.stderr(`kmsgate: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof CliError ? 2 : 1;
  }
}
