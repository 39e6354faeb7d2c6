/**
 * The signing gates' state in SQLite (migration 4): runtime policies, kill switches, the signing
 * ledger and the replay cache, behind the interfaces @kmsgate/policy defines. Kill switches and
 * runtime policies are cached until one of them changes (read-cache.ts), so a kill switch flipped
 * by the CLI in another process still stops the very next request.
 */
import type Database from 'better-sqlite3';
import {
  AMOUNT_LIMBS,
  GLOBAL_KILL_SWITCH,
  fromLimbSums,
  toLimbs,
  type KillSwitchRecord,
  type LedgerAmount,
  type PolicyStateStore,
  type ReplayStore,
  type RuntimePolicyRecord,
  type SigningLedger,
} from '@kmsgate/policy';
import type { Db } from './db';
import { ReadCache, type CachedRead } from './read-cache';

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

interface KillSwitchRow {
  target: string;
  engaged_at: number;
  engaged_by: string;
  reason: string | null;
}
interface PolicyRow {
  selector: string;
  policy: string;
  updated_at: number;
  updated_by: string;
}

const LIMB_COLUMNS = Array.from({ length: AMOUNT_LIMBS }, (_, i) => `l${i}`);

export class SqlitePolicyState implements PolicyStateStore, SigningLedger, ReplayStore {
  readonly #db: Db;
  readonly #cached: {
    killSwitches: CachedRead<string, { global: KillSwitchRecord | undefined; key: KillSwitchRecord | undefined }>;
    policies: CachedRead<string, readonly RuntimePolicyRecord[]>;
  };
  readonly #s: {
    killSwitch: Statement<[string], KillSwitchRow>;
    killSwitches: Statement<[], KillSwitchRow>;
    engage: Statement;
    release: Statement;
    policies: Statement<[string], PolicyRow>;
    allPolicies: Statement<[], PolicyRow>;
    putPolicy: Statement;
    deletePolicy: Statement;
    count: Statement<[string, number], { n: number }>;
    entryTime: Statement<[string, number, number], { at: number }>;
    sum: Statement<[string, string, number], Record<string, bigint | null>>;
    insertEntry: Statement;
    insertAmount: Statement;
    commit: Statement;
    releaseEntry: Statement;
    prune: Statement;
    findReplay: Statement<[Buffer, number], { signature: Buffer }>;
    saveReplay: Statement;
    pruneReplay: Statement;
  };

  constructor(db: Db) {
    if (db === null || typeof db !== 'object' || typeof (db as { prepare?: unknown }).prepare !== 'function') {
      throw new TypeError('db must be an open better-sqlite3 Database');
    }
    this.#db = db;
    this.#s = {
      killSwitch: db.prepare('SELECT target, engaged_at, engaged_by, reason FROM kill_switches WHERE target = ?'),
      killSwitches: db.prepare('SELECT target, engaged_at, engaged_by, reason FROM kill_switches ORDER BY target'),
      engage: db.prepare('INSERT OR IGNORE INTO kill_switches (target, engaged_at, engaged_by, reason) VALUES (?, ?, ?, ?)'),
      release: db.prepare('DELETE FROM kill_switches WHERE target = ?'),
      // json_each: one statement for any number of selectors.
      policies: db.prepare(
        'SELECT selector, policy, updated_at, updated_by FROM signing_policies WHERE selector IN (SELECT value FROM json_each(?)) ORDER BY selector',
      ),
      allPolicies: db.prepare('SELECT selector, policy, updated_at, updated_by FROM signing_policies ORDER BY selector'),
      putPolicy: db.prepare(`INSERT INTO signing_policies (selector, policy, updated_at, updated_by) VALUES (?, ?, ?, ?)
        ON CONFLICT (selector) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
      deletePolicy: db.prepare('DELETE FROM signing_policies WHERE selector = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM signing_ledger WHERE key_id = ? AND at > ?'),
      entryTime: db.prepare('SELECT at FROM signing_ledger WHERE key_id = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?'),
      sum: db
        .prepare<[string, string, number], Record<string, bigint | null>>(
          `SELECT ${LIMB_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM signing_ledger_amounts WHERE key_id = ? AND asset = ? AND at > ?`,
        )
        .safeIntegers(true),
      insertEntry: db.prepare("INSERT INTO signing_ledger (key_id, at, request_id, state) VALUES (?, ?, ?, 'reserved')"),
      insertAmount: db.prepare(
        `INSERT INTO signing_ledger_amounts (entry_id, key_id, asset, at, ${LIMB_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ${LIMB_COLUMNS.map(() => '?').join(', ')})`,
      ),
      commit: db.prepare("UPDATE signing_ledger SET state = 'committed' WHERE id = ?"),
      releaseEntry: db.prepare('DELETE FROM signing_ledger WHERE id = ?'),
      prune: db.prepare('DELETE FROM signing_ledger WHERE at < ?'),
      findReplay: db.prepare('SELECT signature FROM replay_cache WHERE fingerprint = ? AND expires_at > ?'),
      saveReplay: db.prepare('INSERT OR REPLACE INTO replay_cache (fingerprint, key_id, signature, expires_at) VALUES (?, ?, ?, ?)'),
      pruneReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at <= ?'),
    };
    const cache = ReadCache.of(db);
    this.#cached = { killSwitches: cache.read(), policies: cache.read() };
  }

  // -- kill switches ---------------------------------------------------------------------------

  killSwitchesFor(keyId: string): { global: KillSwitchRecord | undefined; key: KillSwitchRecord | undefined } {
    checkString(keyId, 'keyId');
    return this.#cached.killSwitches.get(keyId, () => {
      const global = this.#s.killSwitch.get(GLOBAL_KILL_SWITCH);
      const key = this.#s.killSwitch.get(keyId);
      return Object.freeze({ global: global && killSwitch(global), key: key && killSwitch(key) });
    });
  }

  listKillSwitches(): KillSwitchRecord[] {
    return this.#s.killSwitches.all().map(killSwitch);
  }

  setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date): boolean {
    checkString(target, 'target');
    checkString(by, 'by');
    if (reason !== null && (typeof reason !== 'string' || reason.length > 1024))
      throw new TypeError('reason must be null or a string of at most 1024 characters');
    checkDate(now);
    const run = engaged ? this.#s.engage.run(target, now.getTime(), by, reason) : this.#s.release.run(target);
    return run.changes > 0;
  }

  // -- runtime policies ------------------------------------------------------------------------

  runtimePoliciesFor(selectors: readonly string[]): readonly RuntimePolicyRecord[] {
    if (!Array.isArray(selectors) || selectors.some((s) => typeof s !== 'string')) throw new TypeError('selectors must be an array of strings');
    const json = JSON.stringify(selectors);
    return this.#cached.policies.get(json, () => Object.freeze(this.#s.policies.all(json).map(policyRecord)));
  }

  listRuntimePolicies(): RuntimePolicyRecord[] {
    return this.#s.allPolicies.all().map(policyRecord);
  }

  putRuntimePolicy(selector: string, policyJson: string, by: string, now: Date): void {
    checkString(selector, 'selector');
    checkString(policyJson, 'policyJson');
    checkString(by, 'by');
    checkDate(now);
    this.#s.putPolicy.run(selector, policyJson, now.getTime(), by);
  }

  deleteRuntimePolicy(selector: string): boolean {
    checkString(selector, 'selector');
    return this.#s.deletePolicy.run(selector).changes > 0;
  }

  // -- signing ledger --------------------------------------------------------------------------

  exclusive<T>(fn: () => T): T {
    // BEGIN IMMEDIATE takes SQLite's write lock first, so what fn reads cannot change under it,
    // not even from another process. (Nested calls become savepoints of the outer transaction.)
    return this.#db.transaction(fn).immediate();
  }

  countSince(keyId: string, sinceMs: number): number {
    return this.#s.count.get(keyId, sinceMs)!.n;
  }

  entryTimeSince(keyId: string, sinceMs: number, n: number): number | undefined {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
    return this.#s.entryTime.get(keyId, sinceMs, n - 1)?.at;
  }

  sumSince(keyId: string, asset: string, sinceMs: number): bigint {
    const row = this.#s.sum.get(keyId, asset, sinceMs)!;
    return fromLimbSums(LIMB_COLUMNS.map((c) => row[c] ?? 0n));
  }

  reserve(keyId: string, atMs: number, requestId: string, amounts: readonly LedgerAmount[]): number {
    checkString(keyId, 'keyId');
    checkString(requestId, 'requestId');
    if (!Number.isSafeInteger(atMs)) throw new TypeError('atMs must be an integer');
    return this.exclusive(() => {
      const id = Number(this.#s.insertEntry.run(keyId, atMs, requestId).lastInsertRowid);
      for (const { asset, amount } of amounts) this.#s.insertAmount.run(id, keyId, asset, atMs, ...toLimbs(amount));
      return id;
    });
  }

  commit(id: number): void {
    this.#s.commit.run(id);
  }

  release(id: number): void {
    this.#s.releaseEntry.run(id);
  }

  pruneBefore(beforeMs: number): number {
    return this.#s.prune.run(beforeMs).changes;
  }

  // -- replay cache ----------------------------------------------------------------------------

  find(fingerprint: Uint8Array, nowMs: number): Uint8Array | undefined {
    const row = this.#s.findReplay.get(Buffer.from(fingerprint), nowMs);
    return row === undefined ? undefined : new Uint8Array(row.signature);
  }

  save(fingerprint: Uint8Array, keyId: string, signature: Uint8Array, expiresAtMs: number): void {
    this.#s.saveReplay.run(Buffer.from(fingerprint), keyId, Buffer.from(signature), expiresAtMs);
  }

  pruneExpired(nowMs: number): number {
    return this.#s.pruneReplay.run(nowMs).changes;
  }
}

function killSwitch(row: KillSwitchRow): KillSwitchRecord {
  return { target: row.target, engagedAt: new Date(row.engaged_at), engagedBy: row.engaged_by, reason: row.reason };
}

function policyRecord(row: PolicyRow): RuntimePolicyRecord {
  return { selector: row.selector, policy: row.policy, updatedAt: new Date(row.updated_at), updatedBy: row.updated_by };
}

function checkString(v: unknown, field: string): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 65536) throw new TypeError(`${field} must be a non-empty string`);
}

function checkDate(d: unknown): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError('now must be a valid Date');
}
