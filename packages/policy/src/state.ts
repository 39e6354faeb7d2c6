/**
 * What the engine needs from storage, as small interfaces; packages/store implements them on
 * SQLite (policy-state.ts). The engine never sees SQL, and a test can give it an in-memory fake.
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

export interface PolicyStateStore {
  /** The engaged switches that stop `keyId`: the global one and the key's own. */
  killSwitchesFor(keyId: string): { global: KillSwitchRecord | undefined; key: KillSwitchRecord | undefined };
  listKillSwitches(): KillSwitchRecord[];
  /** Engages or releases a switch; returns whether anything changed. */
  setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date): boolean;

  runtimePoliciesFor(selectors: readonly string[]): readonly RuntimePolicyRecord[];
  listRuntimePolicies(): RuntimePolicyRecord[];
  putRuntimePolicy(selector: string, policyJson: string, by: string, now: Date): void;
  /** Returns whether there was one. */
  deleteRuntimePolicy(selector: string): boolean;
}

/** One asset amount of a reservation. */
export interface LedgerAmount {
  asset: string;
  amount: bigint;
}

/**
 * The signing ledger behind rate limits and rolling caps: one entry per signature a key with a
 * policy made (or is about to make), with what it moved. Windows are (since, now]: an entry counts
 * while its time is after `since`.
 */
export interface SigningLedger {
  /** Runs `fn` in one exclusive write transaction (SQLite BEGIN IMMEDIATE): no other writer interleaves. */
  exclusive<T>(fn: () => T): T;
  countSince(keyId: string, sinceMs: number): number;
  /** The time of `keyId`'s `n`-th oldest entry (1-based) after `sinceMs`; undefined when it has fewer. */
  entryTimeSince(keyId: string, sinceMs: number, n: number): number | undefined;
  /** Exact sum of `asset` moved by `keyId` in entries after `sinceMs`. */
  sumSince(keyId: string, asset: string, sinceMs: number): bigint;
  /** Inserts a reservation; returns its id. */
  reserve(keyId: string, atMs: number, requestId: string, amounts: readonly LedgerAmount[]): number;
  /** The device signed: the reservation becomes a committed entry. */
  commit(id: number): void;
  /** The device did not sign: the reservation is removed and no longer counts. */
  release(id: number): void;
  /** Removes entries older than `beforeMs`; returns how many. */
  pruneBefore(beforeMs: number): number;
}

/** Signatures already returned, by request fingerprint, for the replay window. */
export interface ReplayStore {
  find(fingerprint: Uint8Array, nowMs: number): Uint8Array | undefined;
  save(fingerprint: Uint8Array, keyId: string, signature: Uint8Array, expiresAtMs: number): void;
  /** Removes entries that expired at or before `nowMs`; returns how many. */
  pruneExpired(nowMs: number): number;
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
