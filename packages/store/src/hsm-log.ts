/**
 * The device-log witness's state on SQLite (DeviceLogRepository, contract/device-logs.ts): every
 * YubiHSM 2 log entry `kmsgate hsm audit` or the gateway's witness read (the device forgets them
 * once released with SET_LOG_INDEX), the last one per device so the next read can be checked to
 * follow on from it, per backend how far its reconciliation has got, and who witnesses it now.
 */
import type { AuditRecord } from './audit';
import { readAuditRecords } from './audit';
import { WitnessLeaseLostError, type DeviceLogRepository, type ReconcileState, type StoredLogEntry } from './contract/device-logs';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';

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

/**
 * The device uses `records` (kmsgate's audit records after the last round, oldest first) account
 * for, by device object (`objectOf`): one per accepted Sign, and the `deviceUses` each data-key or
 * MAC record names, accepted or refused. Every store counts with this.
 */
export function countRecordedUses(
  records: readonly AuditRecord[],
  objectOf: ReadonlyMap<string, number>,
): { recorded: Map<number, number>; signRecords: number; lastSeq: number | undefined } {
  const recorded = new Map<number, number>();
  const count = (keyId: string | null, n: number) => {
    const id = keyId === null ? undefined : objectOf.get(keyId);
    if (id !== undefined) recorded.set(id, (recorded.get(id) ?? 0) + n);
  };
  let signRecords = 0;
  for (const r of records) {
    if (r.operation === 'Sign' && r.decision === 'accept') {
      signRecords++;
      count(r.keyId, 1);
    } else if (DATA_KEY_OPERATIONS.has(r.operation)) {
      for (const [keyId, n] of Object.entries(deviceUses(r.summary))) count(keyId, n);
    }
  }
  return { recorded, signRecords, lastSeq: records[records.length - 1]?.seq };
}

/** The seq a reconciliation restarts after: an audit record's, or 0 for none. */
export function checkAuditSeq(auditSeq: number): void {
  if (!Number.isSafeInteger(auditSeq) || auditSeq < 0) throw new RangeError('auditSeq must be a non-negative integer');
}

export function entryOf(r: EntryRow): StoredLogEntry {
  return {
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
  };
}

export class HsmLogStore implements Synchronous<DeviceLogRepository> {
  /** `now`: the clock witness leases run on. */
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  lastEntry(serial: number): StoredLogEntry | undefined {
    const r = this.db.prepare<[number], EntryRow>('SELECT * FROM hsm_log_entries WHERE serial = ? ORDER BY id DESC LIMIT 1').get(serial);
    return r ? entryOf(r) : undefined;
  }

  reconcileState(backendId: string): ReconcileState {
    const r = this.db
      .prepare<[string], { audit_seq: number; carried: string }>('SELECT audit_seq, carried FROM hsm_reconcile_state WHERE backend_id = ?')
      .get(backendId);
    if (!r) return { auditSeq: 0, carried: new Map() };
    return { auditSeq: r.audit_seq, carried: new Map(JSON.parse(r.carried) as [number, number][]) };
  }

  takeLease(backendId: string, holder: string, leaseMs: number): boolean {
    const now = this.now().getTime();
    const taken = this.db
      .prepare(
        `INSERT INTO hsm_witness_lease (backend_id, holder, until) VALUES (?, ?, ?)
         ON CONFLICT (backend_id) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE holder = excluded.holder OR until <= ?`,
      )
      .run(backendId, holder, now + leaseMs, now);
    return taken.changes === 1;
  }

  dropLease(backendId: string, holder: string): void {
    this.db.prepare('DELETE FROM hsm_witness_lease WHERE backend_id = ? AND holder = ?').run(backendId, holder);
  }

  /**
   * One round in one write transaction (BEGIN IMMEDIATE: no other process writes between the
   * lease check and the commit): see DeviceLogRepository.reconcileRound.
   */
  reconcileRound<R extends { carry: Map<number, number> }>(
    backendId: string,
    holder: string,
    entries: readonly StoredLogEntry[],
    objectOf: ReadonlyMap<string, number>,
    readAt: Date,
    match: (recorded: Map<number, number>, carried: Map<number, number>) => R,
  ): { result: R; records: number } {
    return this.db
      .transaction(() => {
        const lease = this.db.prepare<[string], { holder: string }>('SELECT holder FROM hsm_witness_lease WHERE backend_id = ?').get(backendId);
        if (lease?.holder !== holder)
          throw new WitnessLeaseLostError(`the device-log witness lease of backend '${backendId}' is no longer held by this witness`);
        const state = this.reconcileState(backendId);
        const { recorded, signRecords, lastSeq } = countRecordedUses(readAuditRecords(this.db, { afterSeq: state.auditSeq }), objectOf);
        const result = match(recorded, state.carried);
        this.#keep(entries, backendId, { auditSeq: lastSeq ?? state.auditSeq, carried: result.carry }, readAt);
        return { result, records: signRecords };
      })
      .immediate();
  }

  /** One statement: SQLite runs it between two rounds, never inside one (BEGIN IMMEDIATE). */
  restartReconciliation(backendId: string, auditSeq: number, at: Date): void {
    checkAuditSeq(auditSeq);
    this.#keep([], backendId, { auditSeq, carried: new Map() }, at);
  }

  /** Keeps the entries read and the reconciliation's progress, in one transaction. */
  #keep(entries: readonly StoredLogEntry[], backendId: string, state: ReconcileState, readAt: Date): void {
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
