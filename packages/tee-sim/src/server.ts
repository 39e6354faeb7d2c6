// tee-sim: the bridge daemon of docs/tee-bridge-protocol.md (the same server a board's daemon
// runs, from @kmsgate/tee-bridge) in front of the simulated TA instead of libteec, with test
// faults on demand.
import type { BridgeClock } from '@kmsgate/tee';
import { FaultInjector, startBridgeServer, type BridgeStats, type RunningBridgeServer, type TaExecutor } from '@kmsgate/tee-bridge';
import { SIM_BUILD_HASH, SIM_TA_UUID, SimulatedTa, type TaOptions } from './ta';

export { DEFAULT_MAX_OUTSTANDING } from '@kmsgate/tee-bridge';

export interface TeeSimulatorOptions extends TaOptions {
  /** Where to listen. An existing socket file nobody listens on is replaced. */
  socketPath: string;
  maxOutstanding?: number;
  /** How long a partly received frame may stall before the connection is closed. */
  frameTimeoutMs?: number;
  taUuid?: string;
  /** One line per notable event (connections, frame errors, refused storage). */
  log?: (line: string) => void;
  /** What request deadlines and the frame read timeout are measured on (tests: a manual clock). */
  clock?: BridgeClock;
}

export type SimStats = BridgeStats;

export interface RunningTeeSimulator extends RunningBridgeServer {
  ta: SimulatedTa;
  faults: FaultInjector;
}

export async function startTeeSimulator(options: TeeSimulatorOptions): Promise<RunningTeeSimulator> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const log = options.log ?? (() => undefined);
  const ta = new SimulatedTa(options);
  if (!ta.status.ok) log(`REFUSING the sealed state: ${ta.status.reason}`);
  if (ta.recovered) log(ta.recovered);
  const faults = new FaultInjector();
  const executor: TaExecutor = { invoke: async (cmd, payload) => ta.invoke(cmd, payload as never) };
  const server = await startBridgeServer({
    socketPath: options.socketPath,
    executor,
    identity: { taUuid: options.taUuid ?? SIM_TA_UUID, buildHash: SIM_BUILD_HASH, mode: 'simulated', keyTypes: [...ta.keyTypes] },
    ...(options.maxOutstanding !== undefined && { maxOutstanding: options.maxOutstanding }),
    ...(options.frameTimeoutMs !== undefined && { frameTimeoutMs: options.frameTimeoutMs }),
    ...(options.clock && { clock: options.clock }),
    log,
    faults,
    name: 'tee-sim',
  });
  return { ...server, ta, faults };
}
