/**
 * The signing gates' state in SQLite (migrations 4 and 11): runtime policies, kill switches, the
 * signing ledger and the replay cache, behind the interfaces @kmsgate/policy defines. Kill switches
 * and runtime policies are cached until one of them changes (read-cache.ts), so a kill switch
 * flipped by the CLI in another process still stops the very next request.
 *
 * better-sqlite3 is synchronous: each method does its work before it returns (the promise is
 * already settled), and `admit` is one BEGIN IMMEDIATE transaction, which also excludes other
 * processes on the same file. Windows are on the injected clock.
 */
import type Database from 'better-sqlite3';
import {
  AMOUNT_LIMBS,
  DEFAULT_STALE_RESERVATION_MS,
  GLOBAL_KILL_SWITCH,
  checkAdmissionRequest,
  checkKillSwitchReason,
  checkStateDate,
  checkStateString,
  decideAdmission,
  fromLimbSums,
  toLimbs,
  type Admission,
  type AdmissionRequest,
  type KillSwitchRecord,
  type KillSwitches,
  type LedgerSpend,
  type PolicyStateStore,
  type Reservation,
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

export interface SqlitePolicyStateOptions {
  /** The clock of the windows, the replay expiry and the stale bound. */
  now?: () => Date;
  /** See DEFAULT_STALE_RESERVATION_MS. */
  staleReservationMs?: number;
}

export class SqlitePolicyState implements PolicyStateStore, SigningLedger {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #staleMs: number;
  readonly #cached: {
    killSwitches: CachedRead<string, KillSwitches>;
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
    spends: Statement<[string, string, number], Record<string, bigint>>;
    pending: Statement<[Buffer, number], unknown>;
    insertEntry: Statement;
    insertAmount: Statement;
    commit: Statement;
    releaseEntry: Statement;
    prune: Statement;
    reap: Statement;
    findReplay: Statement<[Buffer, number], { signature: Buffer }>;
    saveReplay: Statement;
    pruneReplay: Statement;
  };
  readonly #admit: (req: AdmissionRequest) => Admission;

  constructor(db: Db, opts: SqlitePolicyStateOptions = {}) {
    if (db === null || typeof db !== 'object' || typeof (db as { prepare?: unknown }).prepare !== 'function') {
      throw new TypeError('db must be an open better-sqlite3 Database');
    }
    const staleMs = opts.staleReservationMs ?? DEFAULT_STALE_RESERVATION_MS;
    if (!Number.isSafeInteger(staleMs) || staleMs <= 0) throw new RangeError('staleReservationMs must be a positive integer');
    this.#db = db;
    const now = opts.now ?? (() => new Date());
    this.#now = () => now().getTime();
    this.#staleMs = staleMs;
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
      spends: db
        .prepare<[string, string, number], Record<string, bigint>>(
          `SELECT at, ${LIMB_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM signing_ledger_amounts WHERE key_id = ? AND asset = ? AND at > ? GROUP BY at ORDER BY at`,
        )
        .safeIntegers(true),
      pending: db.prepare("SELECT 1 FROM signing_ledger WHERE fingerprint = ? AND state = 'reserved' AND at > ? LIMIT 1"),
      insertEntry: db.prepare("INSERT INTO signing_ledger (key_id, at, request_id, state, fingerprint) VALUES (?, ?, ?, 'reserved', ?)"),
      insertAmount: db.prepare(
        `INSERT INTO signing_ledger_amounts (entry_id, key_id, asset, at, ${LIMB_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ${LIMB_COLUMNS.map(() => '?').join(', ')})`,
      ),
      commit: db.prepare("UPDATE signing_ledger SET state = 'committed', fingerprint = NULL WHERE id = ?"),
      releaseEntry: db.prepare('DELETE FROM signing_ledger WHERE id = ?'),
      prune: db.prepare('DELETE FROM signing_ledger WHERE at < ?'),
      reap: db.prepare("UPDATE signing_ledger SET fingerprint = NULL WHERE fingerprint IS NOT NULL AND state = 'reserved' AND at <= ?"),
      findReplay: db.prepare('SELECT signature FROM replay_cache WHERE fingerprint = ? AND expires_at > ?'),
      saveReplay: db.prepare(
        'INSERT OR REPLACE INTO replay_cache (fingerprint, key_id, signature, expires_at) SELECT ?, key_id, ?, ? FROM signing_ledger WHERE id = ?',
      ),
      pruneReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at <= ?'),
    };
    const cache = ReadCache.of(db);
    this.#cached = { killSwitches: cache.read(), policies: cache.read() };
    // BEGIN IMMEDIATE takes SQLite's write lock first, so what the admission reads cannot change
    // under it, not even from another process on the same file.
    const admit = db.transaction((req: AdmissionRequest): Admission => {
      const now = this.#now();
      const fingerprint = Buffer.from(req.fingerprint);
      const decided = decideAdmission(req, {
        replayed: () => {
          const row = this.#s.findReplay.get(fingerprint, now);
          return row === undefined ? undefined : new Uint8Array(row.signature);
        },
        pending: () => this.#s.pending.get(fingerprint, now - this.#staleMs) !== undefined,
        count: (i) => this.#s.count.get(req.keyId, now - req.rateLimits[i]!.windowMs)!.n,
        sum: (i) => this.#sum(req.keyId, req.caps[i]!.asset, now - req.caps[i]!.windowMs),
      });
      if (decided) return decided;
      const id = Number(this.#s.insertEntry.run(req.keyId, now, req.requestId, req.replayWindowMs > 0 ? fingerprint : null).lastInsertRowid);
      for (const { asset, amount } of req.amounts) this.#s.insertAmount.run(id, req.keyId, asset, now, ...toLimbs(amount));
      return { kind: 'reserved', reservation: String(id) };
    });
    this.#admit = (req) => admit.immediate(req);
  }

  // -- kill switches ---------------------------------------------------------------------------

  killSwitchesFor(keyId: string): KillSwitches {
    checkStateString(keyId, 'keyId');
    return this.#cached.killSwitches.get(keyId, () => {
      const global = this.#s.killSwitch.get(GLOBAL_KILL_SWITCH);
      const key = this.#s.killSwitch.get(keyId);
      return Object.freeze({ global: global && killSwitch(global), key: key && killSwitch(key) });
    });
  }

  async listKillSwitches(): Promise<KillSwitchRecord[]> {
    return this.#s.killSwitches.all().map(killSwitch);
  }

  async setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date): Promise<boolean> {
    checkStateString(target, 'target');
    checkStateString(by, 'by');
    checkKillSwitchReason(reason);
    checkStateDate(now);
    const run = engaged ? this.#s.engage.run(target, now.getTime(), by, reason) : this.#s.release.run(target);
    return run.changes > 0;
  }

  // -- runtime policies ------------------------------------------------------------------------

  runtimePoliciesFor(selectors: readonly string[]): readonly RuntimePolicyRecord[] {
    if (!Array.isArray(selectors) || selectors.some((s) => typeof s !== 'string')) throw new TypeError('selectors must be an array of strings');
    const json = JSON.stringify(selectors);
    return this.#cached.policies.get(json, () => Object.freeze(this.#s.policies.all(json).map(policyRecord)));
  }

  async listRuntimePolicies(): Promise<RuntimePolicyRecord[]> {
    return this.#s.allPolicies.all().map(policyRecord);
  }

  async putRuntimePolicy(selector: string, policyJson: string, by: string, now: Date): Promise<void> {
    checkStateString(selector, 'selector');
    checkStateString(policyJson, 'policyJson');
    checkStateString(by, 'by');
    checkStateDate(now);
    this.#s.putPolicy.run(selector, policyJson, now.getTime(), by);
  }

  async deleteRuntimePolicy(selector: string): Promise<boolean> {
    checkStateString(selector, 'selector');
    return this.#s.deletePolicy.run(selector).changes > 0;
  }

  // -- signing ledger and replay cache ---------------------------------------------------------

  async admit(req: AdmissionRequest): Promise<Admission> {
    checkAdmissionRequest(req);
    return this.#admit(req);
  }

  async complete(reservation: Reservation, replay: { fingerprint: Uint8Array; signature: Uint8Array; replayWindowMs: number } | undefined): Promise<void> {
    const id = reservationId(reservation);
    const now = this.#now();
    this.#db.transaction(() => {
      this.#s.commit.run(id);
      if (replay !== undefined) this.#s.saveReplay.run(Buffer.from(replay.fingerprint), Buffer.from(replay.signature), now + replay.replayWindowMs, id);
    })();
  }

  async release(reservation: Reservation): Promise<void> {
    this.#s.releaseEntry.run(reservationId(reservation));
  }

  async countWithin(keyId: string, windowMs: number): Promise<number> {
    return this.#s.count.get(keyId, this.#now() - windowMs)!.n;
  }

  async entryTimeWithin(keyId: string, windowMs: number, n: number): Promise<number | undefined> {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
    return this.#s.entryTime.get(keyId, this.#now() - windowMs, n - 1)?.at;
  }

  async sumWithin(keyId: string, asset: string, windowMs: number): Promise<bigint> {
    return this.#sum(keyId, asset, this.#now() - windowMs);
  }

  async spendsWithin(keyId: string, asset: string, windowMs: number): Promise<LedgerSpend[]> {
    return this.#s.spends
      .all(keyId, asset, this.#now() - windowMs)
      .map((row) => ({ atMs: Number(row.at), amount: fromLimbSums(LIMB_COLUMNS.map((c) => row[c]!)) }));
  }

  async prune(retentionMs: number): Promise<void> {
    const now = this.#now();
    this.#db.transaction(() => {
      this.#s.prune.run(now - retentionMs);
      this.#s.reap.run(now - this.#staleMs);
      this.#s.pruneReplay.run(now);
    })();
  }

  #sum(keyId: string, asset: string, sinceMs: number): bigint {
    const row = this.#s.sum.get(keyId, asset, sinceMs)!;
    return fromLimbSums(LIMB_COLUMNS.map((c) => row[c] ?? 0n));
  }
}

function killSwitch(row: KillSwitchRow): KillSwitchRecord {
  return { target: row.target, engagedAt: new Date(row.engaged_at), engagedBy: row.engaged_by, reason: row.reason };
}

function policyRecord(row: PolicyRow): RuntimePolicyRecord {
  return { selector: row.selector, policy: row.policy, updatedAt: new Date(row.updated_at), updatedBy: row.updated_by };
}

function reservationId(reservation: Reservation): number {
  const id = typeof reservation === 'string' && /^[1-9][0-9]{0,15}$/.test(reservation) ? Number(reservation) : NaN;
  if (!Number.isSafeInteger(id)) throw new TypeError('reservation must be a reservation id from admit');
  return id;
}
