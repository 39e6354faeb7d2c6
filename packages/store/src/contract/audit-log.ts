import type { AuditInput, AuditJsonlVerifyResult, AuditRecord, AuditRecordFilter, AuditVerifyResult } from '../audit';
import type { Announcement } from '../audit-group';

/**
 * Reading and checking the hash-chained audit log (docs/audit.md): what `kmsgate audit verify` and
 * `audit tail` need, and what may run while gateways are writing. Every method reaches the database.
 */
export interface AuditReader {
  /**
   * Walks the whole chain in seq order (constant memory) and names the first broken record: a seq
   * gap, a prev_hash that is not the previous record's hash, or a hash that does not match.
   */
  verify(): Promise<AuditVerifyResult>;
  /** Checks a JSONL mirror against the database (docs/audit.md, "The JSONL mirror"). */
  verifyMirror(path: string): Promise<AuditJsonlVerifyResult>;
  /** The last `n` records, oldest first. */
  tail(n: number): Promise<AuditRecord[]>;
  /** The record with this seq, if there is one (`audit verify --anchor`). */
  record(seq: number): Promise<AuditRecord | undefined>;
  /** Records after `filter.afterSeq`, oldest first, narrowed by key, operation and decision. */
  records(filter: AuditRecordFilter): Promise<AuditRecord[]>;
}

/**
 * The audit log a process writes: one implementation per database (SQLite's `SqliteAuditLog`,
 * PostgreSQL's `PgAuditLog` in @kmsgate/store-pg), one record format and one hash. Every write
 * resolves only once its record is durable; a caller must not hand out what a record is about (a
 * signature, an answer) before it resolves, nor when it rejects.
 */
export interface AuditLog extends AuditReader {
  /** Where this log mirrors its records (docs/audit.md), if it does. */
  readonly jsonlPath: string | undefined;
  /** What opening the log repaired (a torn or uncommitted mirror tail, a gap it filled); the gateway logs these. */
  readonly recovered: readonly string[];
  /** Writes one record on its own (denials, admin changes); rejects, keeping nothing, when it cannot. */
  append(input: AuditInput): Promise<AuditRecord>;
  /**
   * Group commit: resolves like `append`, but the records handed in during one turn of the event
   * loop (and those announced with `expectGrouped` that arrive while the group waits) are written
   * together, one transaction and one flush. If the group cannot be written (or whether it was is
   * unknown), every record of it is rejected.
   */
  appendGrouped(input: AuditInput, announced?: Announcement): Promise<AuditRecord>;
  /** Announces a record that will soon be handed to `appendGrouped` (a Sign at the device). */
  expectGrouped(): Announcement;
  /** Releases what the log holds open (files; not the store's connections). */
  close(): Promise<void>;
}

/** How the gateway opens its audit log on a store; each store uses what applies to it. */
export interface AuditLogOptions {
  /** The JSONL mirror (created with mode 0600); none when omitted. */
  jsonlPath?: string;
  /** The clock `at` is read from (SQLite; a shared store uses the database's clock). */
  now?: () => Date;
  /**
   * Flush each record to stable storage before it is acknowledged (SQLite: fdatasync of the JSONL
   * line and a `synchronous = FULL` commit). Default true; false keeps both durable against a
   * process crash (kill -9) but not against power loss.
   */
  fsync?: boolean;
  /** The longest a gathering group waits for records announced with `expectGrouped` (default GROUP_WAIT_MS). */
  groupWaitMs?: number;
  /** Which gateway writes (a shared store records it in each record, covered by the hash; docs/audit.md). */
  gateway?: string;
}
