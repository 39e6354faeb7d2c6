import { join } from 'node:path';
import { KmsError, type KeyBackend, type KeyRecord } from '@kmsgate/core';
import { KeyAdminBackend, YubiHsmBackend } from '@kmsgate/yubihsm';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import type { RunningTeeSimulator } from '@kmsgate/tee-sim';
import { readBackendPassword, type GatewayConfig } from './config';
import { lockSimulatorState } from './simulator-state-lock';
import type { Logger } from './log';
import { startTeeBackend } from './tee-backend';
import { checkProductionYubiHsm } from './yubihsm-production';

export interface BackendRegistry {
  readonly defaultBackend: KeyBackend;
  all(): readonly KeyBackend[];
  find(id: string): KeyBackend | undefined;
  /** The backend that holds a key; KeyUnavailableException when it is not configured any more. */
  forKey(key: KeyRecord): KeyBackend;
}

export interface StartedBackends {
  registry: BackendRegistry;
  /** Embedded simulators, exposed so the benchmark can count connector requests. */
  simulators: Map<string, Awaited<ReturnType<typeof startSimulator>>>;
  /** Embedded TEE simulators, by backend id (tests inject faults and restart them). */
  teeSimulators: Map<string, RunningTeeSimulator>;
  close(): Promise<void>;
}

export function createRegistry(backends: readonly KeyBackend[], defaultId: string): BackendRegistry {
  const byId = new Map(backends.map((b) => [b.id, b] as const));
  const defaultBackend = byId.get(defaultId);
  if (!defaultBackend) throw new Error(`default backend ${defaultId} is not configured`);
  return {
    defaultBackend,
    all: () => backends,
    find: (id) => byId.get(id),
    forKey(key: KeyRecord) {
      const b = byId.get(key.backendId);
      if (!b) throw new KmsError('KeyUnavailableException', `The backend ${key.backendId} that holds key ${key.keyId} is not configured.`);
      return b;
    },
  };
}

/** Starts embedded simulators where configured and connects a backend client to each device. */
export interface BackendHooks {
  /**
   * Reads and releases a YubiHSM 2 backend's full device log (its `deviceLog`), so that a command
   * the device refused with LOG_FULL (force audit) can run. Used only for backends with `deviceLog`.
   */
  releaseDeviceLog?: (backendId: string) => Promise<void>;
}

export async function startBackends(config: GatewayConfig, logger: Logger, hooks: BackendHooks = {}): Promise<StartedBackends> {
  const simulators: StartedBackends['simulators'] = new Map();
  const teeSimulators: StartedBackends['teeSimulators'] = new Map();
  const closeTeeSimulators: Array<() => Promise<void>> = [];
  const backends: KeyBackend[] = [];
  try {
    for (const b of config.backends) {
      if (b.type === 'tee') {
        const tee = await startTeeBackend(b, config, logger);
        closeTeeSimulators.push(tee.closeSimulator);
        if (tee.simulator) teeSimulators.set(b.id, tee.simulator);
        backends.push(tee.backend);
        continue;
      }
      let connectorUrl = b.connectorUrl;
      if (b.embedded) {
        const statePath = b.statePath ?? join(config.dataDir, `${b.id}-sim.json`);
        const release = lockSimulatorState(b.id, statePath);
        let sim: Awaited<ReturnType<typeof startSimulator>>;
        try {
          sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
        } catch (e) {
          release();
          throw e;
        }
        // Closing the simulator gives its state file back, on every path that closes it.
        const close = sim.close.bind(sim);
        simulators.set(b.id, Object.assign(sim, { close: () => close().finally(release) }));
        connectorUrl = sim.url;
        logger.warn('embedded YubiHSM 2 SIMULATOR in use: keys are NOT protected by hardware', { backend: b.id, statePath, connector: sim.url });
      }
      const password = readBackendPassword(b);
      if (config.production) await checkProductionYubiHsm(b, password, logger);
      const devices = b.connectors ? { connectors: b.connectors } : { connectorUrl: connectorUrl!, serial: b.serial };
      const connect = (authKeyId: number, pw: string) =>
        new YubiHsmBackend({
          id: b.id,
          // Never the connector URL by default: the name is shown on the unauthenticated /health.
          name: b.name ?? (b.embedded ? 'Embedded YubiHSM 2 simulator' : undefined),
          ...devices,
          authKeyId,
          password: pw,
          domains: b.domains.reduce((mask, d) => mask | (1 << (d - 1)), 0),
          maxSessions: b.maxSessions,
          requestTimeoutMs: b.requestTimeoutMs,
          simulated: !!b.embedded,
          // A command that may have run on a device before it failed is worth an operator's
          // attention when reading that device's own log.
          onFailover: (e) => logger.warn('YubiHSM 2 device pool: command moved to another device', { backend: b.id, ...e }),
          ...(b.deviceLog && hooks.releaseDeviceLog && { onLogFull: releaseLogOf(b.id, hooks.releaseDeviceLog, logger) }),
        });
      const runtime = connect(b.authKeyId, password);
      backends.push(b.keyAdmin ? new KeyAdminBackend(runtime, connect(b.keyAdmin.authKeyId, readBackendPassword({ id: b.id, ...b.keyAdmin }))) : runtime);
    }
  } catch (e) {
    await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
    await Promise.all([...simulators.values()].map((s) => s.close()));
    await Promise.all(closeTeeSimulators.map((close) => close()));
    throw e;
  }
  const registry = createRegistry(backends, config.defaultBackend ?? config.backends[0]!.id);
  return {
    registry,
    simulators,
    teeSimulators,
    async close() {
      await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
      await Promise.all([...simulators.values()].map((s) => s.close()));
      await Promise.all(closeTeeSimulators.map((close) => close()));
    },
  };
}

/** The pool's onLogFull for one backend: a line in the log (a device that fills its log between runs wants a shorter `intervalSeconds`), then the release. */
function releaseLogOf(backendId: string, release: (backendId: string) => Promise<void>, logger: Logger) {
  return (serial: number | undefined): Promise<void> => {
    logger.warn('YubiHSM 2 device log full (force audit): releasing it now, then the command runs again', { backend: backendId, serial });
    return release(backendId);
  };
}
