/**
 * The windows a policy counts in and signs in: the sliding rate-limit windows of the ledger and the
 * UTC time windows. The engine checks them (engine.ts) and the budget reports them (budget.ts) from
 * this one table, so what an agent is told is what the gate enforces.
 */
import { WEEKDAYS, type AssetCap, type SigningPolicy, type TimeWindow } from './schema';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The rate-limit windows, in the order the engine checks them (docs/policy.md, step 10). */
export const RATE_WINDOWS = [
  { limit: 'perMinute', code: 'RATE_LIMIT_PER_MINUTE', ms: MINUTE_MS, what: 'minute' },
  { limit: 'perHour', code: 'RATE_LIMIT_PER_HOUR', ms: HOUR_MS, what: 'hour' },
  { limit: 'perDay', code: 'RATE_LIMIT_PER_DAY', ms: DAY_MS, what: '24 hours' },
] as const;

export type RateLimitName = (typeof RATE_WINDOWS)[number]['limit'];

/** Whether `now` falls inside one of the policy's time windows (true when it has none). */
export function insideTimeWindows(windows: readonly TimeWindow[] | undefined, now: Date): boolean {
  if (windows === undefined) return true;
  const day = WEEKDAYS[now.getUTCDay()]!;
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const toMinutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  return windows.some((w) => (w.days === undefined || w.days.includes(day)) && toMinutes(w.from) <= minute && minute < toMinutes(w.to));
}

/** The caps of a policy by asset (a generic policy has none). */
export function capsOf(policy: SigningPolicy): Readonly<Record<string, AssetCap>> | undefined {
  return 'caps' in policy ? policy.caps : undefined;
}
