import { MAX_AMOUNT } from './amount';

/**
 * What the engine needs from storage, as small asynchronous interfaces that an embedded store
 * (SQLite, packages/store) and a shared one (PostgreSQL, packages/store-pg) implement alike. The
 * engine never sees SQL, and a test can give it an in-memory fake.
 *
 * The one step that must be atomic (replay lookup, rate-limit counts, rolling-cap sums and the
 * reservation) is a single call, `SigningLedger.admit`: a store runs it in one transaction under
 * a per-key lock, with its own clock, so a shared store never holds a lock across round trips to
 * the engine. The engine still decides which limits apply and words the denials; the store only
 * compares the numbers it is given (`decideAdmission`, below, shared by every store).
 */

/** One engaged kill switch. */
export interface KillSwitchRecord {
  /** '*' for the global switch, else the key id it stops. */
  target: string;
  engagedAt: Date;
  /** Who engaged it: an API key id, or 'cli'. */
  engagedBy: string;
  reason: string | null;
}

/** The engaged switches that stop one key. */
export interface KillSwitches {
  global: KillSwitchRecord | undefined;
  key: KillSwitchRecord | undefined;
}

/** A policy set at runtime by an admin; it overrides the configuration's for its key. */
export interface RuntimePolicyRecord {
  /** Key id or alias name, as in the configuration. */
  selector: string;
  /** The policy as JSON (amounts as decimal strings), exactly as validated when it was set. */
  policy: string;
  updatedAt: Date;
  updatedBy: string;
}

export const GLOBAL_KILL_SWITCH = '*';

/**
 * The store could not be reached or did not answer in time (a shared database down, a network
 * partition, a pool exhausted): nothing was reserved or changed by the call that throws it. The
 * server answers DependencyTimeoutException (503), which every AWS SDK retries; no signature
 * leaves without its ledger entry. A store throws it instead of its driver's errors for exactly
 * these faults; anything else (a bug, a constraint) stays an internal error.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/**
 * Kill switches and runtime policies. Read on every request, so `killSwitchesFor` and
 * `runtimePoliciesFor` are synchronous views, answered from memory that the store keeps current:
 * SQLite checks its change counter (read-cache.ts), a shared store follows a change feed and is
 * brought up to date once per request by the request edge (docs/scale-out.md). A change made
 * through any process or gateway applies from the next request (SQLite) or within a second
 * (PostgreSQL). Writes and full listings are asynchronous.
 */
export interface PolicyStateStore {
  /** The engaged switches that stop `keyId`: the global one and the key's own. */
  killSwitchesFor(keyId: string): KillSwitches;
  listKillSwitches(): Promise<KillSwitchRecord[]>;
  /** Engages or releases a switch; returns whether anything changed. */
  setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date): Promise<boolean>;

  runtimePoliciesFor(selectors: readonly string[]): readonly RuntimePolicyRecord[];
  listRuntimePolicies(): Promise<RuntimePolicyRecord[]>;
  putRuntimePolicy(selector: string, policyJson: string, by: string, now: Date): Promise<void>;
  /** Returns whether there was one. */
  deleteRuntimePolicy(selector: string): Promise<boolean>;
}

/** One asset amount of a reservation. */
export interface LedgerAmount {
  asset: string;
  amount: bigint;
}

/** What a key moved of one asset in one millisecond of the store's clock (SigningLedger.spendsWithin). */
export interface LedgerSpend {
  atMs: number;
  amount: bigint;
}

/** A rate limit to check: fewer than `limit` entries in the last `windowMs`. */
export interface RateLimitCheck {
  windowMs: number;
  limit: number;
}

/** A rolling cap to check: `amount` plus what the key moved of `asset` in the last `windowMs` at most `cap`. */
export interface CapCheck {
  asset: string;
  windowMs: number;
  amount: bigint;
  cap: bigint;
}

/**
 * How long a reservation may wait for its device signature before it is taken for abandoned (its
 * gateway died): well above any device call's timeout, so a slow signature is never made twice.
 */
export const DEFAULT_STALE_RESERVATION_MS = 120_000;

/** Fingerprints are SHA-256 digests. */
export const FINGERPRINT_BYTES = 32;

/** Everything one admission checks and reserves, decided by the engine from the policy. */
export interface AdmissionRequest {
  keyId: string;
  /** The request id, kept with the reservation for the operator. */
  requestId: string;
  /** The replay cache key (engine.ts `fingerprint`). */
  fingerprint: Uint8Array;
  /**
   * How long a signature is handed out again to an identical request; 0 turns the replay cache
   * off: no lookup, and the reservation does not claim the fingerprint.
   */
  replayWindowMs: number;
  /** Checked in this order, before the caps; the first that does not pass refuses. */
  rateLimits: readonly RateLimitCheck[];
  /** Checked in this order, after the rate limits. */
  caps: readonly CapCheck[];
  /** What the reservation records (every asset the message moves, capped or not). */
  amounts: readonly LedgerAmount[];
}

/** Which check refused, by its index in the request, and what was already used. */
export type AdmissionRefusal = { check: 'rate'; index: number; used: number } | { check: 'cap'; index: number; used: bigint };

/** An opaque reservation id. */
export type Reservation = string;

export type Admission =
  /** An identical request's signature, inside the replay window: nothing counted, nothing reserved. */
  | { kind: 'replay'; signature: Uint8Array }
  /** A live reservation (of this or another gateway) holds the fingerprint: its signature is on the way. */
  | { kind: 'pending' }
  | { kind: 'refused'; refusal: AdmissionRefusal }
  | { kind: 'reserved'; reservation: Reservation };

/** What a store reads for `decideAdmission`, under its lock; asked lazily, in the order of the checks. */
export interface AdmissionReads {
  /** The stored signature for the fingerprint, if it has not expired. */
  replayed(): Uint8Array | undefined;
  /** Whether a reservation younger than the store's stale bound holds the fingerprint. */
  pending(): boolean;
  /** Entries of the key in the last `rateLimits[i].windowMs`. */
  count(i: number): number;
  /** Sum of `caps[i].asset` moved by the key in the last `caps[i].windowMs`. */
  sum(i: number): bigint;
}

/** A store's boundary check of a kill-switch or runtime-policy argument (TypeError naming the field). */
export function checkStateString(v: unknown, field: string): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 65536) throw new TypeError(`${field} must be a non-empty string`);
}

/** A store's boundary check of a kill switch's reason. */
export function checkKillSwitchReason(reason: unknown): void {
  if (reason !== null && (typeof reason !== 'string' || reason.length > 1024))
    throw new TypeError('reason must be null or a string of at most 1024 characters');
}

/** A store's boundary check of the time of a write. */
export function checkStateDate(d: unknown): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError('now must be a valid Date');
}

/** A store's boundary check of what `admit` is given (TypeError / RangeError naming the field). */
export function checkAdmissionRequest(req: AdmissionRequest): void {
  if (req === null || typeof req !== 'object') throw new TypeError('request must be an object');
  for (const field of ['keyId', 'requestId'] as const) {
    const v = req[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > 2048) throw new TypeError(`${field} must be a non-empty string`);
  }
  if (!(req.fingerprint instanceof Uint8Array) || req.fingerprint.length !== FINGERPRINT_BYTES)
    throw new TypeError(`fingerprint must be ${FINGERPRINT_BYTES} bytes`);
  const ms = (v: unknown, field: string, min: number) => {
    if (!Number.isSafeInteger(v) || (v as number) < min) throw new RangeError(`${field} must be an integer of at least ${min}`);
  };
  ms(req.replayWindowMs, 'replayWindowMs', 0);
  for (const r of req.rateLimits) {
    ms(r.windowMs, 'rateLimits.windowMs', 1);
    ms(r.limit, 'rateLimits.limit', 0);
  }
  const amount = (v: unknown, field: string) => {
    if (typeof v !== 'bigint' || v < 0n || v > MAX_AMOUNT) throw new RangeError(`${field} must be a bigint in [0, 2^256)`);
  };
  for (const c of req.caps) {
    ms(c.windowMs, 'caps.windowMs', 1);
    amount(c.amount, 'caps.amount');
    amount(c.cap, 'caps.cap');
  }
  for (const a of req.amounts) {
    if (typeof a.asset !== 'string' || a.asset.length === 0 || a.asset.length > 256) throw new TypeError('amounts.asset must be a non-empty string');
    amount(a.amount, 'amounts.amount');
  }
}

/**
 * The admission rule every store applies, under its lock: a stored signature first, then a
 * reservation in flight, then each rate limit, then each cap; undefined means "reserve".
 */
export function decideAdmission(req: AdmissionRequest, reads: AdmissionReads): Exclude<Admission, { kind: 'reserved' }> | undefined {
  if (req.replayWindowMs > 0) {
    const signature = reads.replayed();
    if (signature !== undefined) return { kind: 'replay', signature };
    if (reads.pending()) return { kind: 'pending' };
  }
  for (const [index, r] of req.rateLimits.entries()) {
    const used = reads.count(index);
    if (used >= r.limit) return { kind: 'refused', refusal: { check: 'rate', index, used } };
  }
  for (const [index, c] of req.caps.entries()) {
    const used = reads.sum(index);
    if (used + c.amount > c.cap) return { kind: 'refused', refusal: { check: 'cap', index, used } };
  }
  return undefined;
}

/**
 * The signing ledger behind rate limits and rolling caps, and the replay cache: one entry per
 * signature a key with a policy made (or is about to make), with what it moved. Windows are
 * (now - windowMs, now] on the store's own clock (the database's, for a shared store).
 *
 * A reservation is made before the device signs and counts from then on. A crash between the two
 * leaves it counted (the safe direction); once older than the store's stale bound
 * (DEFAULT_STALE_RESERVATION_MS) it no longer holds its fingerprint, so an identical request is
 * signed again, but it keeps counting until it leaves the windows.
 */
export interface SigningLedger {
  /** The atomic step: `decideAdmission` and, when it passes, the reservation, in one transaction under the key's lock. */
  admit(req: AdmissionRequest): Promise<Admission>;
  /** The device signed and the signature is on its way out: the reservation is committed, and the signature kept for replays when given. */
  complete(reservation: Reservation, replay: { fingerprint: Uint8Array; signature: Uint8Array; replayWindowMs: number } | undefined): Promise<void>;
  /** The device did not sign: the reservation is removed and no longer counts. */
  release(reservation: Reservation): Promise<void>;
  /** Entries of `keyId` in the last `windowMs` (reservations included). */
  countWithin(keyId: string, windowMs: number): Promise<number>;
  /** The time (epoch ms) of `keyId`'s `n`-th oldest entry (1-based) in the last `windowMs`; undefined when it has fewer. */
  entryTimeWithin(keyId: string, windowMs: number, n: number): Promise<number | undefined>;
  /** Exact sum of `asset` moved by `keyId` in the last `windowMs`. */
  sumWithin(keyId: string, asset: string, windowMs: number): Promise<bigint>;
  /**
   * What `keyId` moved of `asset` in the last `windowMs`, oldest first: one element per millisecond
   * of the store's clock that has any (the amounts of entries of that millisecond summed, since they
   * leave the window together), with that time (epoch ms, on the store's clock) and the exact amount.
   */
  spendsWithin(keyId: string, asset: string, windowMs: number): Promise<LedgerSpend[]>;
  /** Housekeeping: drops entries older than `retentionMs` and expired replays, and reaps stale reservations (they let go of their fingerprint). */
  prune(retentionMs: number): Promise<void>;
}

/** The engaged switches as the admin API and `kmsgate kill-switch --json` show them. */
export function describeKillSwitches(records: readonly KillSwitchRecord[]): {
  global: { engagedAt: string; engagedBy: string; reason: string | null } | null;
  keys: { keyId: string; engagedAt: string; engagedBy: string; reason: string | null }[];
} {
  const entry = (r: KillSwitchRecord) => ({ engagedAt: r.engagedAt.toISOString(), engagedBy: r.engagedBy, reason: r.reason });
  const global = records.find((r) => r.target === GLOBAL_KILL_SWITCH);
  return {
    global: global ? entry(global) : null,
    keys: records.filter((r) => r.target !== GLOBAL_KILL_SWITCH).map((r) => ({ keyId: r.target, ...entry(r) })),
  };
}
