// `yubihsm-sim`: run the simulator standalone, like `yubihsm-connector` in front of a device.
import { parseArgs } from 'node:util';
import { startSimulator } from './server';

const USAGE = `Usage: yubihsm-sim [options]

A YubiHSM 2 simulator serving the yubihsm-connector HTTP API (POST /connector/api,
GET /connector/status). Default authentication key: id 1, password "password".

Options:
  --host <host>          listen address (default: localhost)
  --port <port>          listen port, 0 for any free port (default: 12345)
  --state <file>         persist objects to this JSON file; without it state is in memory only.
                         The file holds PRIVATE KEYS IN THE CLEAR: simulator use only.
  --serial <n>           device serial number (default: 1234567 unless the state file has one)
  --session-timeout <ms> session inactivity timeout (default: 30000)
  --verbose              log one line per HTTP request on stderr
  -h, --help             show this help
`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        state: { type: 'string' },
        serial: { type: 'string' },
        'session-timeout': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`yubihsm-sim: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const port = intOption(values.port, 'port', 0, 0xffff);
  const serial = intOption(values.serial, 'serial', 0, 0xffffffff);
  const sessionTimeoutMs = intOption(values['session-timeout'], 'session-timeout', 1, 2 ** 31 - 1);
  const sim = await startSimulator({
    ...(values.host !== undefined && { host: values.host }),
    ...(port !== undefined && { port }),
    ...(values.state !== undefined && { statePath: values.state }),
    ...(serial !== undefined && { serial }),
    ...(sessionTimeoutMs !== undefined && { sessionTimeoutMs }),
    ...(values.verbose && { log: (line: string) => process.stderr.write(`yubihsm-sim: ${line}\n`) }),
  });
  const persistence = values.state === undefined ? 'in-memory state' : `state file ${values.state}`;
  process.stderr.write(`yubihsm-sim: listening on ${sim.url} (serial ${sim.device.serial}, ${persistence})\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.stderr.write(`yubihsm-sim: ${signal}, closing\n`);
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

class UsageError extends Error {}

function intOption(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  }
  return Number(raw);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`yubihsm-sim: ${message}\n${err instanceof UsageError ? `\n${USAGE}` : ''}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
