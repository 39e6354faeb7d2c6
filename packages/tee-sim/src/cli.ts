// `tee-sim`: run the simulated trusted application standalone, in place of a board's bridge daemon.
import { parseArgs } from 'node:util';
import { toHex } from '@kmsgate/tee';
import { startTeeSimulator } from './server';

const USAGE = `Usage: tee-sim --socket <path> [options]

A simulated OP-TEE trusted application behind the kmsgate TEE bridge protocol
(docs/tee-bridge-protocol.md), on a Unix socket with mode 0600. It reports
mode "simulated" in hello, and a gateway with production: true refuses it.

Options:
  --socket <path>        Unix socket to listen on (required). A stale socket file is replaced.
  --state <file>         keep the sealed key store in this file (AES-256-GCM under the device key);
                         without it, everything is in memory and lost on exit.
  --rpmb <file>          the device file: rollback counter and device key (default: <state>.rpmb).
                         It protects nothing: both files are plain files on this host.
  --max-outstanding <n>  requests per connection before BUSY (default: 64)
  --verbose              log connections and frame errors on stderr
  -h, --help             show this help
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        state: { type: 'string' },
        rpmb: { type: 'string' },
        'max-outstanding': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`tee-sim: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.socket) throw new UsageError('--socket is required');
  if (values.rpmb !== undefined && values.state === undefined) throw new UsageError('--rpmb needs --state');
  const maxOutstanding = intOption(values['max-outstanding'], 'max-outstanding', 1, 1024);
  const log = (line: string) => process.stderr.write(`tee-sim: ${line}\n`);
  const sim = await startTeeSimulator({
    socketPath: values.socket,
    ...(values.state !== undefined && { statePath: values.state }),
    ...(values.rpmb !== undefined && { rpmbPath: values.rpmb }),
    ...(maxOutstanding !== undefined && { maxOutstanding }),
    ...(values.verbose && { log }),
  });
  if (!sim.ta.status.ok) log(`WARNING: the sealed state is refused, every key command fails with TEEC_ERROR_SECURITY: ${sim.ta.status.reason}`);
  const persistence = values.state === undefined ? 'in-memory state' : `state file ${values.state}`;
  log(`listening on ${sim.socketPath} (mode simulated, ${persistence}, rollback counter ${sim.ta.counter}, ${sim.ta.keyCount} keys)`);
  log(`attestation public key (SPKI DER, hex): ${toHex(sim.ta.attestationPublicKey)}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log(`${signal}, closing`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  return 0;
}

function intOption(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return Number(raw);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tee-sim: ${message}\n${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
