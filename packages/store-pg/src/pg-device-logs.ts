/**
 * The device-log witness's state on PostgreSQL (DeviceLogRepository in @kmsgate/store), shared by
 * every gateway next to the same HSMs. The witness lease (docs/scale-out.md, "The device-log
 * witness") runs on the database's clock; a round locks the lease row first, so a witness taking
 * an expired lease over waits for the round in progress to commit, then reads what it kept.
 * kmsgate's audit records come from the audit log's reader (`audit`), whose records become visible
 * in seq order.
 */
import {
  WitnessLeaseLostError,
  checkAuditSeq,
  countRecordedUses,
  entryOf,
  type AuditRecordSource,
  type DeviceLogRepository,
  type ReconcileState,
  type StoredLogEntry,
} from '@kmsgate/store';
import type { Pool } from 'pg';
import { DB_NOW_MS } from './db-clock';
import { guarded, inTransaction } from './faults';

/** Writes a backend's progress: $1 backend id, $2 audit seq, $3 carried (JSON), $4 when (epoch ms). */
const SET_STATE = `INSERT INTO hsm_reconcile_state (backend_id, audit_seq, carried, updated_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (backend_id) DO UPDATE SET audit_seq = excluded.audit_seq, carried = excluded.carried, updated_at = excluded.updated_at`;

export class PgDeviceLogRepository implements DeviceLogRepository {
  readonly #pool: Pool;
  readonly #audit: AuditRecordSource;

  constructor(pool: Pool, audit: AuditRecordSource) {
    this.#pool = pool;
    this.#audit = audit;
  }

  async lastEntry(serial: number): Promise<StoredLogEntry | undefined> {
    const { rows } = await guarded('last device log entry', () =>
      this.#pool.query('SELECT * FROM hsm_log_entries WHERE serial = $1 ORDER BY id DESC LIMIT 1', [serial]),
    );
    return rows[0] ? entryOf({ ...rows[0], serial: Number(rows[0].serial), tick: Number(rows[0].tick) }) : undefined;
  }

  async reconcileState(backendId: string): Promise<ReconcileState> {
    const { rows } = await guarded('reconcile state', () =>
      this.#pool.query<{ audit_seq: string; carried: string }>('SELECT audit_seq, carried FROM hsm_reconcile_state WHERE backend_id = $1', [backendId]),
    );
    return stateOf(rows[0]);
  }

  async takeLease(backendId: string, holder: string, leaseMs: number): Promise<boolean> {
    if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError('leaseMs must be a positive integer');
    const { rowCount } = await guarded('take witness lease', () =>
      this.#pool.query(
        `INSERT INTO hsm_witness_lease (backend_id, holder, until) VALUES ($1, $2, ${DB_NOW_MS} + $3)
         ON CONFLICT (backend_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE hsm_witness_lease.holder = excluded.holder OR hsm_witness_lease.until <= ${DB_NOW_MS}`,
        [backendId, holder, leaseMs],
      ),
    );
    return rowCount === 1;
  }

  async dropLease(backendId: string, holder: string): Promise<void> {
    await guarded('drop witness lease', () => this.#pool.query('DELETE FROM hsm_witness_lease WHERE backend_id = $1 AND holder = $2', [backendId, holder]));
  }

  async reconcileRound<R extends { carry: Map<number, number> }>(
    backendId: string,
    holder: string,
    entries: readonly StoredLogEntry[],
    objectOf: ReadonlyMap<string, number>,
    readAt: Date,
    match: (recorded: Map<number, number>, carried: Map<number, number>) => R,
  ): Promise<{ result: R; records: number }> {
    return await guarded('reconcile device log', () =>
      inTransaction(this.#pool, async (c) => {
        const lease = await c.query<{ holder: string }>('SELECT holder FROM hsm_witness_lease WHERE backend_id = $1 FOR UPDATE', [backendId]);
        if (lease.rows[0]?.holder !== holder)
          throw new WitnessLeaseLostError(`the device-log witness lease of backend '${backendId}' is no longer held by this witness`);
        // The progress row locked until the commit (made first if the backend has none): a restart
        // (restartReconciliation) waits for this round, then applies, rather than being overwritten by it.
        await c.query(
          `INSERT INTO hsm_reconcile_state (backend_id, audit_seq, carried, updated_at) VALUES ($1, 0, '[]', $2) ON CONFLICT (backend_id) DO NOTHING`,
          [backendId, readAt.getTime()],
        );
        const state = stateOf(
          (
            await c.query<{ audit_seq: string; carried: string }>('SELECT audit_seq, carried FROM hsm_reconcile_state WHERE backend_id = $1 FOR UPDATE', [
              backendId,
            ])
          ).rows[0],
        );
        const { recorded, signRecords, lastSeq } = countRecordedUses(await this.#audit.records({ afterSeq: state.auditSeq }), objectOf);
        const result = match(recorded, state.carried);
        for (const e of entries) {
          await c.query(
            `INSERT INTO hsm_log_entries (serial, number, command, length, session_key, target_key, second_key, result, tick, digest, read_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [e.serial, e.number, e.command, e.length, e.sessionKey, e.targetKey, e.secondKey, e.result, e.tick, Buffer.from(e.digest), readAt.getTime()],
          );
        }
        await c.query(SET_STATE, [backendId, lastSeq ?? state.auditSeq, JSON.stringify([...result.carry]), readAt.getTime()]);
        return { result, records: signRecords };
      }),
    );
  }

  async restartReconciliation(backendId: string, auditSeq: number, at: Date): Promise<void> {
    checkAuditSeq(auditSeq);
    // One upsert: it takes the progress row's lock, which a round holds until it commits.
    await guarded('restart reconciliation', () => this.#pool.query(SET_STATE, [backendId, auditSeq, '[]', at.getTime()]));
  }
}

function stateOf(r: { audit_seq: string; carried: string } | undefined): ReconcileState {
  if (!r) return { auditSeq: 0, carried: new Map() };
  return { auditSeq: Number(r.audit_seq), carried: new Map(JSON.parse(r.carried) as [number, number][]) };
}
