/**
 * Time as the bridge client and the bridge server see it: call deadlines, the connect timeout,
 * reconnect backoff, the breaker's cooldown and the daemon's frame and queue deadlines read and
 * wait on one of these. Production uses the system clock; tests pass a manual one and move it
 * forward, so what they assert is the order of events, not how fast a busy machine runs.
 */
export interface BridgeClock {
  /** Milliseconds, monotonic enough for deadlines. */
  now(): number;
  /** Runs `fn` once `ms` have passed on this clock; the handle is for clearTimeout only. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const SYSTEM_CLOCK: BridgeClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (timer: unknown): void => clearTimeout(timer as NodeJS.Timeout | undefined),
});
