/**
 * What is left of a key's signing budget right now: per rate-limit window the signatures left and
 * when one more frees up, per capped asset what is left of its rolling 24 h cap and when that
 * grows. Read from the same ledger the engine reserves against (steps 10-11), with the same
 * windows (windows.ts), and nothing is written: asking never spends anything.
 */
import type { SigningPolicy } from './schema';
import type { LedgerSpend, SigningLedger } from './state';
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
  /**
   * When `remaining24h` next grows (epoch ms, on the ledger's clock): a spend of the asset leaves
   * the 24 h window. With nothing left this is when some amount may pass again; undefined without
   * a rolling cap or while nothing of the asset is counted.
   */
  nextFreeAtMs: number | undefined;
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
    if (cap.rolling24h === undefined) {
      const used24h = await ledger.sumWithin(keyId, asset, DAY_MS);
      caps.push({ asset, perTransaction: cap.perTransaction, rolling24h: undefined, used24h, remaining24h: undefined, nextFreeAtMs: undefined });
      continue;
    }
    // One read for both figures, so what is used and when it leaves are of the same instant.
    const spends = await ledger.spendsWithin(keyId, asset, DAY_MS);
    const used24h = spends.reduce((sum, s) => sum + s.amount, 0n);
    const remaining24h = cap.rolling24h > used24h ? cap.rolling24h - used24h : 0n;
    caps.push({
      asset,
      perTransaction: cap.perTransaction,
      rolling24h: cap.rolling24h,
      used24h,
      remaining24h,
      nextFreeAtMs: capGrowsAt(spends, used24h, cap.rolling24h),
    });
  }
  return { rateLimits, caps, insideTimeWindow: insideTimeWindows(policy.timeWindows, now) };
}

/**
 * When what is left of a rolling cap next grows: once less than min(used, cap) is still in the
 * window, i.e. at the leaving of the spend, oldest first, by which more than used - min(used, cap)
 * has left. Below the cap that is the oldest spend; a cap lowered below what was spent waits for
 * more than the oldest one.
 */
function capGrowsAt(spends: readonly LedgerSpend[], used: bigint, cap: bigint): number | undefined {
  const mustLeave = used - (used < cap ? used : cap);
  let left = 0n;
  for (const s of spends) {
    left += s.amount;
    if (left > mustLeave) return s.atMs + DAY_MS;
  }
  // Nothing of the asset is counted.
  return undefined;
}
