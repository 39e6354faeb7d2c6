/**
 * What `kmsgate hsm audit` keeps of YubiHSM 2 device logs: every entry it read (the device forgets
 * them once released with SET_LOG_INDEX), the last one per device so the next read can be checked
 * to follow on from it, and per backend how far its reconciliation has got.
 */
import { readAuditRecords, readAuditTail } from './audit';
import type { Db } from './db';

/** One 32-byte device log entry, decoded (GET_LOG_ENTRIES). */
export interface StoredLogEntry {
  serial: number;
  number: number;
  command: number;
  length: number;
  sessionKey: number;
  targetKey: number;
  secondKey: number;
  result: number;
  tick: number;
  digest: Uint8Array;
}

export interface ReconcileState {
  /** kmsgate audit records up to this seq have been reconciled. */
  auditSeq: number;
  /** Object ID → kmsgate records not yet matched (carried once). */
  carried: Map<number, number>;
}

interface EntryRow {
  serial: number;
  number: number;
  command: number;
  length: number;
  session_key: number;
  target_key: number;
  second_key: number;
  result: number;
  tick: number;
  digest: Buffer;
}

/** The operations whose records carry `deviceUses` (apps/server audit class 'usage'); no other record's summary is read. */
const DATA_KEY_OPERATIONS: ReadonlySet<string> = new Set([
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
]);

function deviceUses(summary: string | null): Record<string, number> {
  if (summary === null) return {};
  const uses = (JSON.parse(summary) as { deviceUses?: unknown }).deviceUses;
  if (typeof uses !== 'object' || uses === null) return {};
  return Object.fromEntries(Object.entries(uses).filter((e): e is [string, number] => Number.isSafeInteger(e[1]) && (e[1] as number) > 0));
}

export class HsmLogStore {
  constructor(private readonly db: Db) {}

  /** The last entry kept for a device: the next read must chain on from it. */
  lastEntry(serial: number): StoredLogEntry | undefined {
    const r = this.db.prepare<[number], EntryRow>('SELECT * FROM hsm_log_entries WHERE serial = ? ORDER BY id DESC LIMIT 1').get(serial);
    return r
      ? {
          serial: r.serial,
          number: r.number,
          command: r.command,
          length: r.length,
          sessionKey: r.session_key,
          targetKey: r.target_key,
          secondKey: r.second_key,
          result: r.result,
          tick: r.tick,
          digest: new Uint8Array(r.digest),
        }
      : undefined;
  }

  reconcileState(backendId: string): ReconcileState {
    const r = this.db
      .prepare<[string], { audit_seq: number; carried: string }>('SELECT audit_seq, carried FROM hsm_reconcile_state WHERE backend_id = ?')
      .get(backendId);
    if (!r) return { auditSeq: 0, carried: new Map() };
    return { auditSeq: r.audit_seq, carried: new Map(JSON.parse(r.carried) as [number, number][]) };
  }

  /**
   * One reconciliation round, in one transaction: counts the device uses kmsgate recorded since the
   * last round by device object (`objectOf`: key id → object, as reconcile names it): one per
   * accepted Sign, and the `deviceUses` each data-key or MAC record names (docs/audit.md), accepted
   * or refused. Hands them to `match` (the
   * pure reconciliation) with what the last round carried, and keeps the entries read and the new
   * progress. `records`: how many Sign records were counted.
   */
  reconcileRound<R extends { carry: Map<number, number> }>(
    backendId: string,
    entries: readonly StoredLogEntry[],
    objectOf: ReadonlyMap<string, number>,
    readAt: Date,
    match: (recorded: Map<number, number>, carried: Map<number, number>) => R,
  ): { result: R; records: number } {
    return this.db.transaction(() => {
      const state = this.reconcileState(backendId);
      const recorded = new Map<number, number>();
      const count = (keyId: string | null, n: number) => {
        const id = keyId === null ? undefined : objectOf.get(keyId);
        if (id !== undefined) recorded.set(id, (recorded.get(id) ?? 0) + n);
      };
      const records = readAuditRecords(this.db, { afterSeq: state.auditSeq, operation: 'Sign', decision: 'accept' });
      for (const r of records) count(r.keyId, 1);
      for (const r of readAuditRecords(this.db, { afterSeq: state.auditSeq })) {
        if (!DATA_KEY_OPERATIONS.has(r.operation)) continue;
        for (const [keyId, n] of Object.entries(deviceUses(r.summary))) count(keyId, n);
      }
      const result = match(recorded, state.carried);
      const head = readAuditTail(this.db, 1)[0]?.seq ?? state.auditSeq;
      this.record(entries, backendId, { auditSeq: Math.max(head, state.auditSeq), carried: result.carry }, readAt);
      return { result, records: records.length };
    })();
  }

  /** Keeps the entries read and the reconciliation's progress, in one transaction. */
  record(entries: readonly StoredLogEntry[], backendId: string, state: ReconcileState, readAt: Date): void {
    const insert = this.db
      .prepare(`INSERT INTO hsm_log_entries (serial, number, command, length, session_key, target_key, second_key, result, tick, digest, read_at)
      VALUES (@serial, @number, @command, @length, @sessionKey, @targetKey, @secondKey, @result, @tick, @digest, @readAt)`);
    const upsert = this.db.prepare(`INSERT INTO hsm_reconcile_state (backend_id, audit_seq, carried, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (backend_id) DO UPDATE SET audit_seq = excluded.audit_seq, carried = excluded.carried, updated_at = excluded.updated_at`);
    this.db.transaction(() => {
      for (const e of entries) insert.run({ ...e, digest: Buffer.from(e.digest), readAt: readAt.getTime() });
      upsert.run(backendId, state.auditSeq, JSON.stringify([...state.carried]), readAt.getTime());
    })();
  }
}
