// `yubihsm-sim` (also `kmsgate yubihsm-sim`): run the simulator standalone, like `yubihsm-connector` in front of a device.
import { defineTool, intOption, untilStopSignal } from '@kmsgate/core';
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

export const yubihsmSimTool = defineTool({
  name: 'yubihsm-sim',
  usage: USAGE,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    state: { type: 'string' },
    serial: { type: 'string' },
    'session-timeout': { type: 'string' },
    verbose: { type: 'boolean' },
  },
  async main(values, log) {
    const port = intOption(values.port, 'port', 0, 0xffff);
    const serial = intOption(values.serial, 'serial', 0, 0xffffffff);
    const sessionTimeoutMs = intOption(values['session-timeout'], 'session-timeout', 1, 2 ** 31 - 1);
    const sim = await startSimulator({
      ...(values.host !== undefined && { host: values.host }),
      ...(port !== undefined && { port }),
      ...(values.state !== undefined && { statePath: values.state }),
      ...(serial !== undefined && { serial }),
      ...(sessionTimeoutMs !== undefined && { sessionTimeoutMs }),
      ...(values.verbose && { log }),
    });
    // Before the line that says it listens: whoever waits for that line may signal at once.
    const stopped = untilStopSignal(log);
    const persistence = values.state === undefined ? 'in-memory state' : `state file ${values.state}`;
    log(`listening on ${sim.url} (serial ${sim.device.serial}, ${persistence})`);
    await stopped;
    await sim.close();
    return 0;
  },
});
