/**
 * What the backends say about themselves, asked at most once per `maxAgeMs`: GET /health answers
 * from this, so a flood of health checks opens no device session beyond one per interval, and
 * concurrent callers share one check. The periodic monitor refreshes it too.
 */
import type { BackendDescription, KeyBackend } from '@kmsgate/core';
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
  maxAgeMs: number,
  /** Monotonic milliseconds. */
  clock: () => number = () => performance.now(),
): BackendHealth {
  let last: { at: number; value: BackendDescription[] } | undefined;
  let running: Promise<BackendDescription[]> | undefined;
  const refresh = (): Promise<BackendDescription[]> => {
    running ??= (async () => {
      try {
        const settled = await Promise.allSettled(backends.map((b) => b.describe()));
        settled.forEach((s, i) =>
          metrics.setBackendUp(
            backends[i]!.id,
            s.status === 'fulfilled' && s.value.connectionState === 'CONNECTED',
            s.status === 'fulfilled' ? s.value.devices : undefined,
          ),
        );
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
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
