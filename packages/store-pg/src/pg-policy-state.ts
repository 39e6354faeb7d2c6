/**
 * The signing gates' state on PostgreSQL, shared by every gateway on the database (docs/scale-out.md):
 *
 * - `admit` is one READ COMMITTED transaction on one client: a per-key advisory lock
 *   (pg_advisory_xact_lock on the key id's hash, released at COMMIT or when the connection dies),
 *   then the database clock and every fact the decision needs in one statement, then the
 *   reservation. Locking the ledger rows would not do: a new row is a phantom no lock covers.
 * - Windows are on the database's clock (clock_timestamp() after the lock), never a gateway's.
 * - Kill switches and runtime policies are views of memory, reloaded when the change feed's
 *   counter moves and refused (StoreUnavailableError) once not confirmed current for a second.
 *
 * Every fault reaching the database becomes StoreUnavailableError (faults.ts).
 */
import {
  DEFAULT_STALE_RESERVATION_MS,
  GLOBAL_KILL_SWITCH,
  checkAdmissionRequest,
  checkKillSwitchReason,
  checkStateDate,
  checkStateString,
  decideAdmission,
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
import type { Pool } from 'pg';
import type { ChangeFeed } from './change-feed';
import { DB_NOW_MS } from './db-clock';
import { FeedView } from './feed-view';
import { guarded, inTransaction } from './faults';

/** The first argument of the per-key advisory lock ("kmsg"), so no other use of advisory locks collides with ours. */
export const LEDGER_LOCK_NAMESPACE = 0x6b6d7367;

interface KillSwitchRow {
  target: string;
  engaged_at: string;
  engaged_by: string;
  reason: string | null;
}
interface PolicyRow {
  selector: string;
  policy: string;
  updated_at: string;
  updated_by: string;
}
interface FactsRow {
  now: string;
  replayed: Buffer | null;
  pending: boolean;
  counts: string[];
  sums: string[];
}

export interface PgPolicyStateOptions {
  /** See DEFAULT_STALE_RESERVATION_MS. */
  staleReservationMs?: number;
}

export class PgPolicyState implements PolicyStateStore, SigningLedger {
  readonly #pool: Pool;
  readonly #feed: ChangeFeed;
  readonly #staleMs: number;
  readonly #views: FeedView<{ switches: Map<string, KillSwitchRecord>; policies: Map<string, RuntimePolicyRecord> }>;

  /** `feed` must be started by the caller (openPgGateState does); the views refuse until its first reading. */
  constructor(pool: Pool, feed: ChangeFeed, opts: PgPolicyStateOptions = {}) {
    const staleMs = opts.staleReservationMs ?? DEFAULT_STALE_RESERVATION_MS;
    if (!Number.isSafeInteger(staleMs) || staleMs <= 0) throw new RangeError('staleReservationMs must be a positive integer');
    this.#pool = pool;
    this.#feed = feed;
    this.#staleMs = staleMs;
    this.#views = new FeedView(feed, 'kill switches and runtime policies', async () => {
      const [switches, policies] = await Promise.all([this.listKillSwitches(), this.listRuntimePolicies()]);
      return {
        switches: new Map(switches.map((s) => [s.target, Object.freeze(s)])),
        policies: new Map(policies.map((p) => [p.selector, Object.freeze(p)])),
      };
    });
  }

  /**
   * Brings the views up to date with what any gateway wrote: at most one round trip, and none while
   * the background poll is recent. The request edge awaits it once per request.
   */
  async refresh(): Promise<void> {
    await this.#feed.confirm();
  }

  // -- kill switches ---------------------------------------------------------------------------

  killSwitchesFor(keyId: string): KillSwitches {
    checkStateString(keyId, 'keyId');
    const { switches } = this.#views.current();
    return { global: switches.get(GLOBAL_KILL_SWITCH), key: switches.get(keyId) };
  }

  async listKillSwitches(): Promise<KillSwitchRecord[]> {
    const { rows } = await guarded('list kill switches', () =>
      this.#pool.query<KillSwitchRow>('SELECT target, engaged_at, engaged_by, reason FROM kill_switches ORDER BY target'),
    );
    return rows.map(killSwitch);
  }

  async setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date): Promise<boolean> {
    checkStateString(target, 'target');
    checkStateString(by, 'by');
    checkKillSwitchReason(reason);
    checkStateDate(now);
    const { rowCount } = await guarded('set kill switch', () =>
      engaged
        ? this.#pool.query('INSERT INTO kill_switches (target, engaged_at, engaged_by, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (target) DO NOTHING', [
            target,
            now.getTime(),
            by,
            reason,
          ])
        : this.#pool.query('DELETE FROM kill_switches WHERE target = $1', [target]),
    );
    await this.#feed.read();
    return (rowCount ?? 0) > 0;
  }

  // -- runtime policies ------------------------------------------------------------------------

  runtimePoliciesFor(selectors: readonly string[]): readonly RuntimePolicyRecord[] {
    if (!Array.isArray(selectors) || selectors.some((s) => typeof s !== 'string')) throw new TypeError('selectors must be an array of strings');
    const { policies } = this.#views.current();
    return [...new Set(selectors)].sort().flatMap((s) => {
      const r = policies.get(s);
      return r === undefined ? [] : [r];
    });
  }

  async listRuntimePolicies(): Promise<RuntimePolicyRecord[]> {
    const { rows } = await guarded('list runtime policies', () =>
      this.#pool.query<PolicyRow>('SELECT selector, policy, updated_at, updated_by FROM signing_policies ORDER BY selector'),
    );
    return rows.map(policyRecord);
  }

  async putRuntimePolicy(selector: string, policyJson: string, by: string, now: Date): Promise<void> {
    checkStateString(selector, 'selector');
    checkStateString(policyJson, 'policyJson');
    checkStateString(by, 'by');
    checkStateDate(now);
    await guarded('put runtime policy', () =>
      this.#pool.query(
        `INSERT INTO signing_policies (selector, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (selector) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [selector, policyJson, now.getTime(), by],
      ),
    );
    await this.#feed.read();
  }

  async deleteRuntimePolicy(selector: string): Promise<boolean> {
    checkStateString(selector, 'selector');
    const { rowCount } = await guarded('delete runtime policy', () => this.#pool.query('DELETE FROM signing_policies WHERE selector = $1', [selector]));
    await this.#feed.read();
    return (rowCount ?? 0) > 0;
  }

  // -- signing ledger and replay cache ---------------------------------------------------------

  async admit(req: AdmissionRequest): Promise<Admission> {
    checkAdmissionRequest(req);
    const fingerprint = Buffer.from(req.fingerprint);
    return await guarded('admit', () =>
      inTransaction(this.#pool, async (client): Promise<Admission> => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LEDGER_LOCK_NAMESPACE, req.keyId]);
        // A new statement after the lock: under READ COMMITTED it sees every reservation committed before the lock was ours.
        const { rows } = await client.query<FactsRow>(
          `WITH t AS (SELECT ${DB_NOW_MS} AS now)
           SELECT t.now::text AS now,
             (SELECT signature FROM replay_cache WHERE $5 AND fingerprint = $2 AND expires_at > t.now) AS replayed,
             $5 AND EXISTS (SELECT 1 FROM signing_ledger WHERE fingerprint = $2 AND state = 'reserved' AND at > t.now - $3) AS pending,
             ARRAY(SELECT (SELECT COUNT(*) FROM signing_ledger WHERE key_id = $1 AND at > t.now - u.w)::text
                   FROM unnest($4::bigint[]) WITH ORDINALITY AS u(w, i) ORDER BY u.i) AS counts,
             ARRAY(SELECT (SELECT COALESCE(SUM(amount), 0) FROM signing_ledger_amounts WHERE key_id = $1 AND asset = u.a AND at > t.now - u.w)::text
                   FROM unnest($6::text[], $7::bigint[]) WITH ORDINALITY AS u(a, w, i) ORDER BY u.i) AS sums
           FROM t`,
          [
            req.keyId,
            fingerprint,
            this.#staleMs,
            req.rateLimits.map((r) => r.windowMs),
            req.replayWindowMs > 0,
            req.caps.map((c) => c.asset),
            req.caps.map((c) => c.windowMs),
          ],
        );
        const facts = rows[0]!;
        const decided = decideAdmission(req, {
          replayed: () => (facts.replayed === null ? undefined : new Uint8Array(facts.replayed)),
          pending: () => facts.pending,
          count: (i) => Number(facts.counts[i]),
          sum: (i) => BigInt(facts.sums[i]!),
        });
        if (decided) return decided;
        const inserted = await client.query<{ id: string }>(
          `WITH e AS (
             INSERT INTO signing_ledger (key_id, at, request_id, state, fingerprint) VALUES ($1, $2, $3, 'reserved', $4) RETURNING id
           ), a AS (
             INSERT INTO signing_ledger_amounts (entry_id, key_id, asset, at, amount)
             SELECT e.id, $1, u.asset, $2, u.amount FROM e, unnest($5::text[], $6::numeric[]) AS u(asset, amount)
           )
           SELECT id::text AS id FROM e`,
          [
            req.keyId,
            facts.now,
            req.requestId,
            req.replayWindowMs > 0 ? fingerprint : null,
            req.amounts.map((a) => a.asset),
            req.amounts.map((a) => a.amount.toString()),
          ],
        );
        return { kind: 'reserved', reservation: inserted.rows[0]!.id };
      }),
    );
  }

  async complete(reservation: Reservation, replay: { fingerprint: Uint8Array; signature: Uint8Array; replayWindowMs: number } | undefined): Promise<void> {
    const id = reservationId(reservation);
    // One statement: another gateway sees the reservation pending or the signature stored, never neither.
    await guarded('complete', () =>
      this.#pool.query(
        `WITH c AS (
           UPDATE signing_ledger SET state = 'committed', fingerprint = NULL WHERE id = $1 RETURNING key_id
         )
         INSERT INTO replay_cache (fingerprint, key_id, signature, expires_at)
         SELECT $2, c.key_id, $3, ${DB_NOW_MS} + $4 FROM c WHERE $2::bytea IS NOT NULL
         ON CONFLICT (fingerprint) DO UPDATE SET key_id = excluded.key_id, signature = excluded.signature, expires_at = excluded.expires_at`,
        [id, replay ? Buffer.from(replay.fingerprint) : null, replay ? Buffer.from(replay.signature) : null, replay?.replayWindowMs ?? 0],
      ),
    );
  }

  async release(reservation: Reservation): Promise<void> {
    const id = reservationId(reservation);
    await guarded('release', () => this.#pool.query('DELETE FROM signing_ledger WHERE id = $1', [id]));
  }

  async countWithin(keyId: string, windowMs: number): Promise<number> {
    const { rows } = await guarded('count', () =>
      this.#pool.query<{ n: string }>(`SELECT COUNT(*)::text AS n FROM signing_ledger WHERE key_id = $1 AND at > ${DB_NOW_MS} - $2`, [keyId, windowMs]),
    );
    return Number(rows[0]!.n);
  }

  async entryTimeWithin(keyId: string, windowMs: number, n: number): Promise<number | undefined> {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
    const { rows } = await guarded('entry time', () =>
      this.#pool.query<{ at: string }>(`SELECT at::text AS at FROM signing_ledger WHERE key_id = $1 AND at > ${DB_NOW_MS} - $2 ORDER BY at LIMIT 1 OFFSET $3`, [
        keyId,
        windowMs,
        n - 1,
      ]),
    );
    return rows[0] === undefined ? undefined : Number(rows[0].at);
  }

  async sumWithin(keyId: string, asset: string, windowMs: number): Promise<bigint> {
    const { rows } = await guarded('sum', () =>
      this.#pool.query<{ s: string }>(
        `SELECT COALESCE(SUM(amount), 0)::text AS s FROM signing_ledger_amounts WHERE key_id = $1 AND asset = $2 AND at > ${DB_NOW_MS} - $3`,
        [keyId, asset, windowMs],
      ),
    );
    return BigInt(rows[0]!.s);
  }

  async spendsWithin(keyId: string, asset: string, windowMs: number): Promise<LedgerSpend[]> {
    const { rows } = await guarded('spends', () =>
      this.#pool.query<{ at: string; amount: string }>(
        `SELECT at::text AS at, SUM(amount)::text AS amount FROM signing_ledger_amounts
         WHERE key_id = $1 AND asset = $2 AND at > ${DB_NOW_MS} - $3 GROUP BY at ORDER BY at`,
        [keyId, asset, windowMs],
      ),
    );
    return rows.map((r) => ({ atMs: Number(r.at), amount: BigInt(r.amount) }));
  }

  async prune(retentionMs: number): Promise<void> {
    if (!Number.isSafeInteger(retentionMs) || retentionMs <= 0) throw new RangeError('retentionMs must be a positive integer');
    await guarded('prune', () =>
      this.#pool.query(
        `WITH t AS (SELECT ${DB_NOW_MS} AS now),
           old AS (DELETE FROM signing_ledger WHERE at < (SELECT now FROM t) - $1),
           reaped AS (UPDATE signing_ledger SET fingerprint = NULL WHERE fingerprint IS NOT NULL AND state = 'reserved' AND at <= (SELECT now FROM t) - $2)
         DELETE FROM replay_cache WHERE expires_at <= (SELECT now FROM t)`,
        [retentionMs, this.#staleMs],
      ),
    );
  }
}

function killSwitch(row: KillSwitchRow): KillSwitchRecord {
  return { target: row.target, engagedAt: new Date(Number(row.engaged_at)), engagedBy: row.engaged_by, reason: row.reason };
}

function policyRecord(row: PolicyRow): RuntimePolicyRecord {
  return { selector: row.selector, policy: row.policy, updatedAt: new Date(Number(row.updated_at)), updatedBy: row.updated_by };
}

function reservationId(reservation: Reservation): string {
  if (typeof reservation !== 'string' || !/^[1-9][0-9]{0,18}$/.test(reservation)) throw new TypeError('reservation must be a reservation id from admit');
  return reservation;
}
