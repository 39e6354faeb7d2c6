// `tee-sim` (also `kmsgate tee-sim`): run the simulated trusted application standalone, in place of a board's bridge daemon.
import { UsageError, defineTool, intOption, untilStopSignal } from '@kmsgate/core';
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

export const teeSimTool = defineTool({
  name: 'tee-sim',
  usage: USAGE,
  options: {
    socket: { type: 'string' },
    state: { type: 'string' },
    rpmb: { type: 'string' },
    'max-outstanding': { type: 'string' },
    verbose: { type: 'boolean' },
  },
  async main(values, log) {
    if (!values.socket) throw new UsageError('--socket is required');
    if (values.rpmb !== undefined && values.state === undefined) throw new UsageError('--rpmb needs --state');
    const maxOutstanding = intOption(values['max-outstanding'], 'max-outstanding', 1, 1024);
    const sim = await startTeeSimulator({
      socketPath: values.socket,
      ...(values.state !== undefined && { statePath: values.state }),
      ...(values.rpmb !== undefined && { rpmbPath: values.rpmb }),
      ...(maxOutstanding !== undefined && { maxOutstanding }),
      ...(values.verbose && { log }),
    });
    // Before the line that says it listens: whoever waits for that line may signal at once.
    const stopped = untilStopSignal(log);
    if (!sim.ta.status.ok) log(`WARNING: the sealed state is refused, every key command fails with TEEC_ERROR_SECURITY: ${sim.ta.status.reason}`);
    const persistence = values.state === undefined ? 'in-memory state' : `state file ${values.state}`;
    log(`listening on ${sim.socketPath} (mode simulated, ${persistence}, rollback counter ${sim.ta.counter}, ${sim.ta.keyCount} keys)`);
    log(`attestation public key (SPKI DER, hex): ${toHex(sim.ta.attestationPublicKey)}`);
    await stopped;
    await sim.close();
    return 0;
  },
});
