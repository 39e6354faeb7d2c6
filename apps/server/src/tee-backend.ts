import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TeeBackend } from '@kmsgate/tee';
import { startTeeSimulator, type RunningTeeSimulator } from '@kmsgate/tee-sim';
import { ConfigError, type GatewayConfig, type TeeBackendConfig } from './config';
import type { Logger } from './log';
import { lockSimulatorState } from './simulator-state-lock';

export interface StartedTeeBackend {
  backend: TeeBackend;
  /** The embedded simulator, if the backend has one. */
  simulator?: RunningTeeSimulator;
  /** Stops the embedded simulator and removes its private socket directory. */
  closeSimulator(): Promise<void>;
}

/**
 * Connects a TEE backend to its bridge daemon, or first starts tee-sim in-process on a socket in a
 * private (0700) temporary directory. The simulator is reached only through that socket, exactly
 * as a board's daemon is.
 *
 * With `production: true` the bridge is asked for its hello now: one that says "simulated" stops
 * the gateway with a ConfigError. A bridge that cannot be reached at startup does not stop it, but
 * every session the backend opens later is refused unless its hello says "real".
 */
export async function startTeeBackend(b: TeeBackendConfig, config: GatewayConfig, logger: Logger): Promise<StartedTeeBackend> {
  let socketPath = b.socketPath;
  let simulator: RunningTeeSimulator | undefined;
  let socketDir: string | undefined;
  let releaseState = () => {};
  const closeSimulator = async () => {
    await simulator?.close();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    releaseState();
  };
  if (b.embedded) {
    const statePath = b.statePath ?? join(config.dataDir, `${b.id}-sim.json`);
    releaseState = lockSimulatorState(b.id, statePath);
    socketDir = mkdtempSync(join(tmpdir(), 'kmsgate-tee-'));
    socketPath = join(socketDir, 'bridge.sock');
    try {
      simulator = await startTeeSimulator({
        socketPath,
        statePath,
        log: (line) => logger.warn(`tee-sim: ${line}`, { backend: b.id }),
      });
    } catch (e) {
      rmSync(socketDir, { recursive: true, force: true });
      releaseState();
      throw e;
    }
    logger.warn('embedded TEE SIMULATOR in use: keys are NOT protected by a TEE', { backend: b.id, statePath, rollbackCounter: simulator.ta.counter });
    if (!simulator.ta.status.ok) logger.error('the embedded TEE simulator refuses its sealed state', { backend: b.id, reason: simulator.ta.status.reason });
  }
  const backend = new TeeBackend({
    id: b.id,
    // Not the socket path: the name is shown on the unauthenticated /health.
    name: b.name ?? (b.embedded ? 'Embedded TEE simulator' : undefined),
    socketPath: socketPath!,
    connectTimeoutMs: b.connectTimeoutMs,
    requestTimeoutMs: b.requestTimeoutMs,
    maxOutstanding: b.maxOutstanding,
    breaker: b.breaker,
    requireReal: config.production,
    expectSimulated: !!b.embedded,
    onEvent: (event, detail) => {
      const fields = { backend: b.id, event, ...detail };
      if (event === 'breaker-open' || event === 'protocol-error') logger.warn('TEE bridge', fields);
      else logger.info('TEE bridge', fields);
    },
  });
  if (config.production) {
    try {
      await backend.handshake();
    } catch (e) {
      const seen = backend.client.hello;
      if (seen && seen.mode !== 'real') {
        await backend.close();
        await closeSimulator();
        throw new ConfigError(`backend ${b.id}: the TEE bridge at ${socketPath} reports mode "${seen.mode}"; production: true refuses a simulated backend`);
      }
      logger.warn('TEE bridge not reachable at startup; every session it opens later must say mode "real"', { backend: b.id, error: (e as Error).message });
    }
  }
  return { backend, ...(simulator && { simulator }), closeSimulator };
}
