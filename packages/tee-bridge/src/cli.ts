// `tee-bridge`: the board-side bridge daemon, or the host build of the TA behind it.
import { UsageError, defineTool, intOption, untilStopSignal } from '@kmsgate/core';
import { toHex } from '@kmsgate/tee';
import { startHostBridge, startTeeBridge, type RunningTeeBridge } from './daemon';

const USAGE = `Usage:
  tee-bridge --socket <path> --libteec <libteec.so> [options]   on a board, in front of the kmsgate TA
  tee-bridge --socket <path> --storage <dir> [options]          the host build: the TA's code on this machine

Serves the kmsgate TEE bridge protocol (docs/tee-bridge-protocol.md) on a Unix socket with
mode 0600, calling the kmsgate trusted application through the GlobalPlatform TEE Client API.
Point a gateway at it with KMSGATE_TEE_SOCKET=<path>.

Options:
  --socket <path>          Unix socket to listen on (required). A stale socket file is replaced.
  --libteec <path>         OP-TEE's libteec (e.g. /usr/lib/libteec.so.2): a board. hello says mode "real".
  --simulated              with --libteec: say mode "simulated" (OP-TEE under QEMU, a test board)
  --build-hash <text>      hello.buildHash (default: the SHA-256 of /lib/optee_armtz/<uuid>.ta)
  --storage <dir>          the host build: compile tee/host (make, cc), run the TA in this process
                           with its secure storage in <dir>. Mode "simulated"; nothing is protected.
  --allow-uid <uid>        the only user that may connect, checked with SO_PEERCRED on every
                           connection (default: the daemon's own uid; set it to the gateway's)
  --max-outstanding <n>    requests per connection before BUSY (default: 64)
  --call-timeout-ms <n>    a TA call running longer is answered DEADLINE_EXCEEDED, outcome unknown
                           (default: 30000)
  --verbose                log connections, frame errors and TA session events on stderr
  -h, --help               show this help
`;

export const teeBridgeTool = defineTool({
  name: 'tee-bridge',
  usage: USAGE,
  options: {
    socket: { type: 'string' },
    libteec: { type: 'string' },
    simulated: { type: 'boolean' },
    'build-hash': { type: 'string' },
    storage: { type: 'string' },
    'allow-uid': { type: 'string' },
    'max-outstanding': { type: 'string' },
    'call-timeout-ms': { type: 'string' },
    verbose: { type: 'boolean' },
  },
  async main(values, log) {
    if (!values.socket) throw new UsageError('--socket is required');
    if (!values.libteec === !values.storage) throw new UsageError('give exactly one of --libteec (a board) or --storage (the host build)');
    if (values.storage && (values.simulated || values['build-hash'] !== undefined)) throw new UsageError('--simulated and --build-hash go with --libteec');
    const maxOutstanding = intOption(values['max-outstanding'], 'max-outstanding', 1, 1024);
    const callTimeoutMs = intOption(values['call-timeout-ms'], 'call-timeout-ms', 1, 600_000);
    const allowedUid = intOption(values['allow-uid'], 'allow-uid', 0, 0xffff_ffff);
    const common = {
      socketPath: values.socket,
      ...(maxOutstanding !== undefined && { maxOutstanding }),
      ...(callTimeoutMs !== undefined && { callTimeoutMs }),
      ...(allowedUid !== undefined && { allowedUid }),
      // Failures to open the TA session are worth a line even without --verbose.
      log: values.verbose ? log : (line: string) => (/session/.test(line) ? log(line) : undefined),
    };
    const bridge: RunningTeeBridge = values.storage
      ? await startHostBridge({ ...common, storageDir: values.storage })
      : await startTeeBridge({
          ...common,
          libraryPath: values.libteec!,
          contextName: null,
          mode: values.simulated ? 'simulated' : 'real',
          ...(values['build-hash'] !== undefined && { buildHash: values['build-hash'] }),
        });
    // Before the line that says it listens: whoever waits for that line may signal at once.
    const stopped = untilStopSignal(log);
    const where = values.storage ? `host build, storage ${values.storage}` : `libteec ${values.libteec}`;
    log(
      `listening on ${bridge.socketPath} (TA ${bridge.hello.taUuid}, mode ${bridge.hello.mode}, ${where}, build ${bridge.hello.buildHash}, uid ${allowedUid ?? process.getuid!()} only)`,
    );
    try {
      const att = await bridge.session.invoke('getAttestation', { nonce: toHex(new Uint8Array(32).fill(0x6b)) });
      log(`attestation public key (SPKI DER, hex): ${att.publicKey}`);
    } catch (e) {
      log(`no attestation key yet: ${(e as Error).message}`);
    }
    await stopped;
    await bridge.close();
    return 0;
  },
});
