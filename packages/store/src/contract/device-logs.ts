import type { AuditRecord, AuditRecordFilter } from '../audit';
import type { MethodKinds } from './repository';

/** One 32-byte YubiHSM 2 log entry, decoded (GET_LOG_ENTRIES), and the device that logged it. */
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

/** How a store reads kmsgate's audit log for a round (what the audit log's reader offers). */
export interface AuditRecordSource {
  /**
   * Records after `filter.afterSeq`, oldest first. A record must never be visible before every
   * record with a smaller seq, or a round could move past one it never counted.
   */
  records(filter: AuditRecordFilter): Promise<AuditRecord[]>;
}

/**
 * How long a witness pass may hold a backend's lease before another witness may take it over: far
 * above a pass (a few device commands per device). A pass that overruns it keeps nothing (its round
 * is refused) and so releases nothing on the device.
 */
export const DEVICE_LOG_LEASE_MS = 60_000;

/** The round was refused: `holder` no longer holds the backend's witness lease (it ran out, another witness took it). Nothing was kept. */
export class WitnessLeaseLostError extends Error {
  override readonly name = 'WitnessLeaseLostError';
}

/**
 * The device-log witness's state (apps/server device-log-witness.ts, `kmsgate hsm audit`): every
 * YubiHSM 2 log entry read (the device forgets an entry once it is released), and per backend how
 * far reconciliation with kmsgate's audit log has got.
 *
 * Several gateways next to one HSM (or a gateway and `kmsgate hsm audit`) may witness the same
 * device. If two read it at once, both would see the same unreleased entries and each keep and
 * count them. So a pass over a backend's devices runs under the backend's **witness lease**: a
 * witness takes it before it reads (`takeLease`; refused while another holder's runs), reads the
 * devices, keeps the entries in a round that is refused unless it still holds the lease (fencing: a
 * witness that stalled past its lease keeps nothing), releases the entries on the device only after
 * the round committed, then gives the lease up. An entry is never kept twice (two rounds never read
 * the same unreleased entries from the same last kept entry) and never lost (the device forgets
 * only what a committed round kept; a pass that fails anywhere leaves the entries on the device for
 * the next). The lease runs on the store's clock (PostgreSQL: the database's).
 */
export interface DeviceLogRepository {
  /** The last entry kept for a device: the next read must chain on from it. */
  lastEntry(serial: number): Promise<StoredLogEntry | undefined>;
  reconcileState(backendId: string): Promise<ReconcileState>;
  /** Takes (or renews) the backend's witness lease for `holder`, for `leaseMs` from now; false while another holder's lease runs. */
  takeLease(backendId: string, holder: string, leaseMs: number): Promise<boolean>;
  /** Gives `holder`'s lease up (nothing when another holds it). */
  dropLease(backendId: string, holder: string): Promise<void>;
  /**
   * One reconciliation round, atomic, while `holder` holds the lease (else WitnessLeaseLostError,
   * keeping nothing): counts the device uses kmsgate recorded since the last round by device object
   * (`objectOf`: key id, or `<key id>/<version>` for a rotated material → object), one per accepted
   * Sign and the `deviceUses` each data-key or MAC record names (docs/audit.md), accepted or
   * refused; hands them to `match` (pure, synchronous) with what the last round carried; keeps the
   * entries read and the new progress. `records`: how many Sign records were counted.
   */
  reconcileRound<R extends { carry: Map<number, number> }>(
    backendId: string,
    holder: string,
    entries: readonly StoredLogEntry[],
    objectOf: ReadonlyMap<string, number>,
    readAt: Date,
    match: (recorded: Map<number, number>, carried: Map<number, number>) => R,
  ): Promise<{ result: R; records: number }>;
  /**
   * Starts the backend's reconciliation over after audit record `auditSeq`, with nothing carried
   * (`kmsgate hsm restore`: the records up to there were made on the devices the keys came from).
   * Atomic with a round: one in progress commits first, and this applies after it.
   */
  restartReconciliation(backendId: string, auditSeq: number, at: Date): Promise<void>;
}

export const DEVICE_LOG_REPOSITORY: MethodKinds<DeviceLogRepository> = {
  lastEntry: 'async',
  reconcileState: 'async',
  takeLease: 'async',
  dropLease: 'async',
  reconcileRound: 'async',
  restartReconciliation: 'async',
};
