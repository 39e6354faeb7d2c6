/**
 * What is left of a key's signing budget right now: per rate-limit window the signatures left and
 * when one more frees up, per capped asset what is left of its rolling 24 h cap. Read from the same
 * ledger the engine reserves against (steps 10-11), with the same windows (windows.ts), and
 * nothing is written: asking never spends anything.
 */
import type { SigningPolicy } from './schema';
import type { SigningLedger } from './state';
import { DAY_MS, RATE_WINDOWS, capsOf, insideTimeWindows, type RateLimitName } from './windows';

export interface RateLimitHeadroom {
  /** The policy's field: perMinute, perHour or perDay. */
  limit: RateLimitName;
  windowMs: number;
  max: number;
  /** Signatures (and reservations of signatures in flight) counted in the window ending now. */
  used: number;
  remaining: number;
  /**
   * When `remaining` next grows by one (epoch ms): an entry leaves the sliding window. While
   * nothing is left this is when the next signature may pass; undefined when nothing is counted.
   */
  nextFreeAtMs: number | undefined;
}

export interface CapHeadroom {
  asset: string;
  perTransaction: bigint | undefined;
  rolling24h: bigint | undefined;
  /** Moved in the last 24 hours (reservations included), whether or not a rolling cap is set. */
  used24h: bigint;
  /** rolling24h minus used24h, never below zero; undefined without a rolling cap. */
  remaining24h: bigint | undefined;
}

export interface SigningHeadroom {
  rateLimits: RateLimitHeadroom[];
  caps: CapHeadroom[];
  /** Whether a request now falls inside the policy's time windows (true when it has none). */
  insideTimeWindow: boolean;
}

/** Windows are the ledger's (its clock: the database's for a shared store); `now` is for the time windows. */
export async function signingHeadroom(ledger: SigningLedger, keyId: string, policy: SigningPolicy, now: Date): Promise<SigningHeadroom> {
  const rateLimits: RateLimitHeadroom[] = [];
  for (const w of RATE_WINDOWS) {
    const max = policy.rateLimits?.[w.limit];
    if (max === undefined) continue;
    const used = await ledger.countWithin(keyId, w.ms);
    // With `used` entries in the window and room for `max`, a slot frees when entry used-max+1
    // (oldest first) leaves it; at least the oldest one (a limit lowered below `used` waits longer).
    const leaving = used === 0 ? undefined : await ledger.entryTimeWithin(keyId, w.ms, Math.max(1, used - max + 1));
    rateLimits.push({
      limit: w.limit,
      windowMs: w.ms,
      max,
      used,
      remaining: Math.max(0, max - used),
      nextFreeAtMs: leaving === undefined ? undefined : leaving + w.ms,
    });
  }
  const caps: CapHeadroom[] = [];
  for (const [asset, cap] of Object.entries(capsOf(policy) ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const used24h = await ledger.sumWithin(keyId, asset, DAY_MS);
    const remaining = cap.rolling24h === undefined ? undefined : cap.rolling24h > used24h ? cap.rolling24h - used24h : 0n;
    caps.push({ asset, perTransaction: cap.perTransaction, rolling24h: cap.rolling24h, used24h, remaining24h: remaining });
  }
  return { rateLimits, caps, insideTimeWindow: insideTimeWindows(policy.timeWindows, now) };
}
