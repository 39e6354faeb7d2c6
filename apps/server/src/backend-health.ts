/**
 * What the backends say about themselves, asked at most once per `maxAgeMs`: GET /health answers
 * from this, so a flood of health checks opens no device session beyond one per interval, and
 * concurrent callers share one check. The periodic monitor refreshes it too. Each check sets the
 * up/down gauges, and a backend (or a device of a pool) that changed between up and down since the
 * previous check gets one log line: once per transition, however often it is asked.
 */
import type { BackendDescription, KeyBackend } from '@kmsgate/core';
import type { Logger } from './log';
import type { Metrics } from './metrics';

export interface BackendHealth {
  /** The last answers if younger than `maxAgeMs`, else a fresh check (joined if one is running). */
  current(): Promise<BackendDescription[]>;
  /** A fresh check now (joined if one is running); a describe() that throws counts as down and rejects. */
  refresh(): Promise<BackendDescription[]>;
}

export function createBackendHealth(
  backends: readonly KeyBackend[],
  metrics: Metrics,
  logger: Logger,
  maxAgeMs: number,
  /** Monotonic milliseconds. */
  clock: () => number = () => performance.now(),
): BackendHealth {
  let last: { at: number; value: BackendDescription[] } | undefined;
  let running: Promise<BackendDescription[]> | undefined;
  const transitions = createTransitionLog(logger);
  const refresh = (): Promise<BackendDescription[]> => {
    running ??= (async () => {
      try {
        const settled = await Promise.allSettled(backends.map((b) => b.describe()));
        settled.forEach((s, i) => {
          const id = backends[i]!.id;
          const up = s.status === 'fulfilled' && s.value.connectionState === 'CONNECTED';
          const devices = s.status === 'fulfilled' ? s.value.devices : undefined;
          metrics.setBackendUp(id, up, devices);
          transitions.backend(id, up, s.status === 'fulfilled' ? { state: s.value.connectionState, failure: s.value.failure } : { error: errorText(s.reason) });
          for (const d of devices ?? []) transitions.device(id, d.serial, d.connectionState === 'CONNECTED', { state: d.connectionState, error: d.error });
        });
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        const value = settled.map((s) => (s as PromiseFulfilledResult<BackendDescription>).value);
        last = { at: clock(), value };
        return value;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return {
    current() {
      if (last !== undefined && clock() - last.at < maxAgeMs) return Promise.resolve(last.value);
      return refresh();
    },
    refresh,
  };
}

/**
 * Remembers each backend's and each pool device's last up/down and logs a change: `backend down`
 * (warn) and `backend up` (info), `backend device down` / `backend device up` for the devices of a
 * pool. The first check logs only what is down: what is up is what the startup line says.
 */
function createTransitionLog(logger: Logger) {
  const last = new Map<string, boolean>();
  const note = (subject: string, up: boolean, what: string, fields: Record<string, unknown>) => {
    const was = last.get(subject);
    last.set(subject, up);
    if (was === up || (was === undefined && up)) return;
    if (up) logger.info(`${what} up`, fields);
    else logger.warn(`${what} down`, fields);
  };
  return {
    backend: (id: string, up: boolean, why: Record<string, unknown>) => note(id, up, 'backend', { backend: id, ...(up ? {} : why) }),
    device: (id: string, serial: number, up: boolean, why: Record<string, unknown>) =>
      note(`${id}#${serial}`, up, 'backend device', { backend: id, serial, ...(up ? {} : why) }),
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** How often the backends are asked for their state when nothing else asks (GET /health also does). */
export const BACKEND_CHECK_INTERVAL_MS = 15_000;

/**
 * Checks now and then every `intervalMs` (0: only now) on an unref'd timer. Returns the first
 * check (so a caller can wait until the gauge is set) and the stop function.
 */
export function startBackendMonitor(health: BackendHealth, intervalMs = BACKEND_CHECK_INTERVAL_MS): { first: Promise<void>; stop: () => void } {
  // refresh() joins a check that is running, so a slow device does not pile them up; a failure is in the gauge.
  const tick = (): Promise<void> =>
    health.refresh().then(
      () => undefined,
      () => undefined,
    );
  const first = tick();
  if (intervalMs === 0) return { first, stop: () => {} };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
