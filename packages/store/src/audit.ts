/**
 * The audit log: append-only and hash-chained, in SQLite (`audit_log`, migration 3) and mirrored
 * line by line to a JSONL file. docs/audit.md is the specification (record format, the canonical
 * encoding the hash covers, failure semantics, how to re-implement the verifier).
 *
 * - Each record's hash is SHA-256 over a canonical encoding of all its fields and the previous
 *   record's hash (see `auditRecordHash`); the first record's previous hash is GENESIS_HASH.
 * - The chain continues across restarts and across processes: every append reads the current head
 *   (one B-tree descent by primary key, never a scan) inside a `BEGIN IMMEDIATE` transaction, so
 *   the server and a CLI appending to the same store serialise on SQLite's write lock.
 * - `append` is synchronous and throws when the record could not be written to both places; the
 *   caller must then not hand out what the record was about (a signature).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Db } from './db';
import { KeptFile } from './kept-file';

export const AUDIT_DECISIONS = ['accept', 'deny', 'replay', 'admin'] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];
export const AUDIT_GATES = ['auth', 'decode', 'policy', 'replay', 'backend'] as const;
export type AuditGate = (typeof AUDIT_GATES)[number];

/** What a caller records. The log adds seq, at, prevHash and hash. */
export interface AuditInput {
  requestId: string;
  /** The API key's id (`ak_…`), never the secret. */
  apiKeyId?: string;
  operation: string;
  keyId?: string;
  decision: AuditDecision;
  gate?: AuditGate;
  /** A stable reason code (a denial's code, or the error `__type`). */
  reason?: string;
  /**
   * JSON-serialisable (what the decoder saw, what an admin changed). Stored as JSON text;
   * bigint values become decimal strings and byte arrays lowercase hex.
   */
  summary?: unknown;
  /** The exact bytes handed to the device's sign call; the record keeps hex SHA-256 of them. */
  signedDigest?: Uint8Array;
}

/** One stored record, as in SQLite and (one JSON object per line, these keys in this order) the JSONL mirror. */
export interface AuditRecord {
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  requestId: string;
  apiKeyId: string | null;
  operation: string;
  keyId: string | null;
  decision: AuditDecision;
  gate: AuditGate | null;
  reason: string | null;
  /** The summary as the JSON text that was stored and hashed. */
  summary: string | null;
  /** Lowercase hex SHA-256 of the bytes the device signed. */
  signedDigest: string | null;
  prevHash: string;
  hash: string;
}

export type AuditVerifyResult = { ok: true; count: number; lastHash: string } | { ok: false; count: number; brokenAt: number; reason: string };

export type AuditJsonlVerifyResult =
  | {
      ok: true;
      /** Complete lines checked against the database. */
      lines: number;
      firstSeq: number | null;
      lastSeq: number | null;
      /** A tail the gateway removes at its next start; not a failure (see docs/audit.md). */
      pendingTail?: 'torn' | 'uncommitted';
    }
  | { ok: false; line: number; seq: number | null; reason: string };

export interface AuditLogOptions {
  /** The JSONL mirror (created with mode 0600); none when omitted. */
  jsonlPath?: string;
  now?: () => Date;
  /**
   * Flush each record to stable storage before `append` returns: fdatasync of the JSONL line and
   * `synchronous = FULL` for the SQLite commit. Default true; false keeps both durable against a
   * process crash (kill -9) but not against power loss.
   */
  fsync?: boolean;
  /** The longest a gathering group waits for records announced with `expectGrouped` (default GROUP_WAIT_MS). */
  groupWaitMs?: number;
}

/**
 * How long at most a group waits for the records of Signs still at the device. Under load this
 * lets one flush (~300 µs of CPU for its two fdatasyncs) serve many records instead of the few that
 * arrive while the previous flush runs; a Sign with nothing else in flight never waits.
 */
export const GROUP_WAIT_MS = 5;

/** The previous hash of record 1. */
export const GENESIS_HASH = '0'.repeat(64);
/** Prefixed to the canonical encoding, so the hash can never be confused with any other SHA-256 use. */
export const AUDIT_HASH_DOMAIN = 'kmsgate-audit-v1\n';
const DOMAIN_BYTES = Buffer.from(AUDIT_HASH_DOMAIN, 'utf8');
/** Larger summaries are refused (a decoded transaction summary is a few KiB at most). */
export const MAX_SUMMARY_BYTES = 1024 * 1024;

/** The JSONL keys and the canonical-encoding order: every field but `hash`. */
const HASHED_FIELDS = [
  'seq',
  'at',
  'requestId',
  'apiKeyId',
  'operation',
  'keyId',
  'decision',
  'gate',
  'reason',
  'summary',
  'signedDigest',
  'prevHash',
] as const;

interface AuditRow {
  seq: number;
  at: number;
  request_id: string;
  api_key_id: string | null;
  operation: string;
  key_id: string | null;
  decision: string;
  gate: string | null;
  reason: string | null;
  summary: string | null;
  signed_digest: string | null;
  prev_hash: string;
  hash: string;
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    seq: r.seq,
    at: r.at,
    requestId: r.request_id,
    apiKeyId: r.api_key_id,
    operation: r.operation,
    keyId: r.key_id,
    decision: r.decision as AuditDecision,
    gate: r.gate as AuditGate | null,
    reason: r.reason,
    summary: r.summary,
    signedDigest: r.signed_digest,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * SHA-256 (lowercase hex) of AUDIT_HASH_DOMAIN followed by each field of HASHED_FIELDS in order:
 * null → 0x00; integer → 0x02 ‖ int64 big-endian; string → 0x01 ‖ uint32 big-endian byte length ‖ UTF-8.
 */
export function auditRecordHash(r: Omit<AuditRecord, 'hash'>): string {
  // One buffer, one update: hashing runs once per record on append and on every verify.
  let size = DOMAIN_BYTES.length;
  for (const field of HASHED_FIELDS) {
    const v = r[field];
    size += v === null ? 1 : typeof v === 'number' ? 9 : 5 + Buffer.byteLength(v, 'utf8');
  }
  const buf = Buffer.allocUnsafe(size);
  let o = DOMAIN_BYTES.copy(buf, 0);
  for (const field of HASHED_FIELDS) {
    const v = r[field];
    if (v === null) {
      buf[o++] = 0;
    } else if (typeof v === 'number') {
      buf[o++] = 2;
      o = buf.writeBigInt64BE(BigInt(v), o);
    } else {
      buf[o++] = 1;
      const len = buf.write(v, o + 4, 'utf8');
      buf.writeUInt32BE(len, o);
      o += 4 + len;
    }
  }
  return createHash('sha256').update(buf).digest('hex');
}

/** The JSONL line of a record (without the newline): the fields in HASHED_FIELDS order, then `hash`. */
export function auditJsonLine(r: AuditRecord): string {
  const o: Record<string, unknown> = {};
  for (const f of HASHED_FIELDS) o[f] = r[f];
  o.hash = r.hash;
  return JSON.stringify(o);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Strings reach the log from request input; a lone surrogate has no UTF-8 form, so it becomes U+FFFD. */
function text(value: unknown, field: string, optional: boolean): string | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    throw new TypeError(`${field} is required`);
  }
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${field} must be a non-empty string`);
  return value.replace(LONE_SURROGATE, '\uFFFD');
}

function summaryJson(summary: unknown): string | null {
  if (summary === undefined || summary === null) return null;
  const json = JSON.stringify(summary, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
    if (typeof value === 'bigint') return value.toString();
    return value;
  }) as string | undefined;
  if (json === undefined) throw new TypeError('summary must be JSON-serialisable');
  if (Buffer.byteLength(json) > MAX_SUMMARY_BYTES) throw new RangeError(`summary must be at most ${MAX_SUMMARY_BYTES} bytes as JSON`);
  return json.replace(LONE_SURROGATE, '\uFFFD');
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, optional: boolean): T | null {
  if (value === undefined && optional) return null;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new TypeError(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * The most records one group commit writes (more wait for the next). Also the most uncommitted
 * JSONL lines a crash mid-commit can leave, which the start-up repair and the verifier accept.
 */
export const MAX_GROUP_RECORDS = 256;

/** A record announced to the group commit (AuditLog.expectGrouped). */
export interface Announcement {
  settle(): void;
}

/** When a commit's writes reach stable storage: before it returns, or once the caller's asynchronous flush completes. */
type Flush = 'now' | 'later';

/** A record as validated, before the log gives it its place in the chain. */
type PendingRecord = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

/** Thrown when the JSONL mirror and the database disagree in a way the log will not repair by itself. */
export class AuditIntegrityError extends Error {}

/**
 * The hash-chained audit log of one store. Construct once per process (the server) or per command
 * (a CLI that records an admin change); both may append to the same store at the same time.
 */
export class AuditLog {
  readonly jsonlPath: string | undefined;
  /** What the constructor repaired in the JSONL mirror (a torn or uncommitted last line, a gap it filled); the gateway logs these. */
  readonly recovered: readonly string[];
  private readonly now: () => Date;
  private readonly fsync: boolean;
  private readonly syncMode: number;
  /** The database's write-ahead log, which a group commit flushes itself (undefined: not in WAL mode, groups flush as `append` does). */
  private readonly wal: KeptFile | undefined;
  /** The JSONL mirror, kept open between commits. */
  private readonly mirrorFile: KeptFile | undefined;
  /** Fds of files rotated away (or closed) while a flush may still be using them; closed when it ends. */
  private retired: number[] = [];
  private readonly stmts;
  private readonly appendTx: Database.Transaction<(records: readonly PendingRecord[], flush: Flush) => AuditRecord[]>;
  /** Records waiting for the next group commit (`appendGrouped`), each with its caller's promise. */
  private group: { record: PendingRecord; resolve(r: AuditRecord): void; reject(e: unknown): void }[] = [];
  private groupScheduled = false;
  /** Records announced (expectGrouped) and not yet handed in or called off. */
  private expected = 0;
  /** Set while a group waits for announced records; commits it when they are late. */
  private groupWait: NodeJS.Timeout | undefined;
  private readonly groupWaitMs: number;
  /** Set while a committed group is being flushed to disk; the next group waits for it. */
  private flushing = false;
  /** Set while JSONL lines are written but their SQLite transaction has not committed: where they start, in which file. */
  private pendingMirror: { offset: number; fd: number } | undefined;
  /** Set when a line of a failed append could not be taken back: every later append refuses (fail closed). */
  private mirrorBroken: string | undefined;

  constructor(
    private readonly db: Db,
    opts: AuditLogOptions = {},
  ) {
    if (opts.jsonlPath !== undefined && (typeof opts.jsonlPath !== 'string' || opts.jsonlPath === ''))
      throw new TypeError('jsonlPath must be a non-empty string');
    this.jsonlPath = opts.jsonlPath;
    if (this.jsonlPath !== undefined) mkdirSync(dirname(this.jsonlPath), { recursive: true, mode: 0o700 });
    this.now = opts.now ?? (() => new Date());
    this.fsync = opts.fsync ?? true;
    this.groupWaitMs = opts.groupWaitMs ?? GROUP_WAIT_MS;
    this.syncMode = db.pragma('synchronous', { simple: true }) as number;
    // SQLite names the log after the database file with symbolic links resolved.
    const retire = (fd: number) => (this.flushing ? this.retired.push(fd) : closeSync(fd));
    this.wal = !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal' ? new KeptFile(`${realpathSync(db.name)}-wal`, 'r', retire) : undefined;
    this.mirrorFile = this.jsonlPath === undefined ? undefined : new KeptFile(this.jsonlPath, 'a', retire, 0o600);
    this.stmts = {
      // max(seq) on the INTEGER PRIMARY KEY is read from the right edge of the B-tree: O(log n), no scan.
      head: db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)'),
      insert: db.prepare(`INSERT INTO audit_log (seq, at, request_id, api_key_id, operation, key_id, decision, gate, reason,
        summary, signed_digest, prev_hash, hash) VALUES (@seq, @at, @requestId, @apiKeyId, @operation, @keyId, @decision,
        @gate, @reason, @summary, @signedDigest, @prevHash, @hash)`),
      get: db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq = ?'),
      range: db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq'),
      // Prepared once: db.pragma() would prepare them on every commit.
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      syncRestore: db.prepare(`PRAGMA synchronous = ${this.syncMode}`),
    };
    this.appendTx = db.transaction((pending, flush) => {
      const head = this.stmts.head.get();
      let seq = head?.seq ?? 0;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const records = pending.map((partial): AuditRecord => {
        const unhashed = { ...partial, seq: ++seq, prevHash };
        const record: AuditRecord = { ...unhashed, hash: auditRecordHash(unhashed) };
        this.stmts.insert.run(record);
        prevHash = record.hash;
        return record;
      });
      if (this.jsonlPath !== undefined) this.mirror(records, flush);
      return records;
    });
    this.recovered = this.jsonlPath !== undefined ? this.reconcileMirror(this.jsonlPath) : [];
  }

  /**
   * Writes one record and returns it. Throws (and nothing is kept, in either place) when it cannot
   * be written. Must not be called inside another SQLite transaction: the JSONL line could not be
   * taken back if that transaction rolled back later.
   */
  append(input: AuditInput): AuditRecord {
    return this.commit([this.prepare(input)], 'now').records[0]!;
  }

  /**
   * Group commit: resolves with the record once it is written, like `append`, but every record
   * handed in during the same turn of the event loop is written together in one transaction, with
   * one JSONL write and (with `fsync`) one flush to disk for all of them. The flush (fdatasync of
   * the JSONL lines and of SQLite's write-ahead log, what `synchronous = FULL` would do inside the
   * COMMIT) runs off the event loop, and the records handed in meanwhile wait for it and then form
   * the next group: one flush at a time, as large a group as the traffic makes. If the write
   * fails, every record of the group is rejected and none is kept: no caller may act on any of
   * them. If only the flush fails, the records stay (they describe what the device did) but every
   * caller is rejected, and the log refuses every later write until the gateway is restarted.
   * An input that does not validate is rejected on its own, before it joins a group.
   */
  appendGrouped(input: AuditInput, announced?: Announcement): Promise<AuditRecord> {
    let record: PendingRecord;
    try {
      record = this.prepare(input);
    } catch (e) {
      announced?.settle();
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.group.push({ record, resolve, reject });
      if (announced) announced.settle();
      else this.scheduleGroup();
    });
  }

  /**
   * Announces a record that will soon be handed to `appendGrouped` with this announcement (a Sign
   * on its way to the device). While announced records are outstanding, a group waits for them
   * before it is committed, at most `groupWaitMs`: under load one flush then serves many records.
   * `settle()` calls it off when no record will come (idempotent; appendGrouped settles it).
   */
  expectGrouped(): Announcement {
    this.expected++;
    let outstanding = true;
    return {
      settle: () => {
        if (!outstanding) return;
        outstanding = false;
        this.expected--;
        this.scheduleGroup();
      },
    };
  }

  private scheduleGroup(): void {
    if (this.group.length === 0 || this.groupScheduled || this.flushing) return;
    if (this.expected > 0 && this.group.length < MAX_GROUP_RECORDS) {
      this.groupWait ??= setTimeout(() => this.closeGroup(), this.groupWaitMs);
      return;
    }
    this.closeGroup();
  }

  private closeGroup(): void {
    clearTimeout(this.groupWait);
    this.groupWait = undefined;
    if (this.group.length === 0 || this.groupScheduled || this.flushing) return;
    this.groupScheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every reply that arrived together joins.
    setImmediate(() => this.commitGroup());
  }

  private commitGroup(): void {
    this.groupScheduled = false;
    const group = this.group.splice(0, MAX_GROUP_RECORDS);
    const later = this.fsync && this.wal !== undefined;
    let written: { records: AuditRecord[]; mirrorFd: number | undefined };
    try {
      written = this.commit(
        group.map((g) => g.record),
        later ? 'later' : 'now',
      );
    } catch (e) {
      for (const g of group) g.reject(e);
      this.scheduleGroup();
      return;
    }
    const { records, mirrorFd } = written;
    if (!later) {
      group.forEach((g, i) => g.resolve(records[i]!));
      this.scheduleGroup();
      return;
    }
    this.flushing = true;
    this.flushCommitted(mirrorFd)
      .then(
        () => group.forEach((g, i) => g.resolve(records[i]!)),
        (e: unknown) => {
          this.mirrorBroken ??= `audit records ${records[0]!.seq}-${records.at(-1)!.seq} were committed but could not be flushed to disk (${String(e)}); restart the gateway`;
          for (const g of group) g.reject(e);
        },
      )
      .finally(() => {
        this.flushing = false;
        for (const fd of this.retired.splice(0)) closeSync(fd);
        this.scheduleGroup();
      });
  }

  /**
   * fdatasync of the JSONL lines and of the write-ahead log, both in libuv's thread pool; fails if
   * either does. The write-ahead log is looked up by name first, so a replaced one is the one flushed.
   */
  private async flushCommitted(mirrorFd: number | undefined): Promise<void> {
    const flushes = [datasync(() => this.wal!.open().fd)];
    if (mirrorFd !== undefined) flushes.push(datasync(() => mirrorFd));
    for (const r of await Promise.allSettled(flushes)) if (r.status === 'rejected') throw r.reason;
  }

  /** Releases the files the log keeps open (a later append opens them again). */
  close(): void {
    this.mirrorFile?.close();
    this.wal?.close();
  }

  /** Checks and normalises a caller's input; the log adds seq, prevHash and hash when it commits. */
  private prepare(input: AuditInput): PendingRecord {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    if (input.signedDigest !== undefined && !(input.signedDigest instanceof Uint8Array)) throw new TypeError('signedDigest must be a Uint8Array');
    const at = this.now().getTime();
    if (!Number.isSafeInteger(at)) throw new RangeError('now() must return a valid date');
    return {
      at,
      requestId: text(input.requestId, 'requestId', false)!,
      apiKeyId: text(input.apiKeyId, 'apiKeyId', true),
      operation: text(input.operation, 'operation', false)!,
      keyId: text(input.keyId, 'keyId', true),
      decision: oneOf(input.decision, AUDIT_DECISIONS, 'decision', false)!,
      gate: oneOf(input.gate, AUDIT_GATES, 'gate', true),
      reason: text(input.reason, 'reason', true),
      summary: summaryJson(input.summary),
      signedDigest: input.signedDigest ? createHash('sha256').update(input.signedDigest).digest('hex') : null,
    };
  }

  /**
   * One transaction for all of `pending`, one JSONL write; all or nothing. `flush` 'now': flushed
   * before it returns (with `fsync`); 'later': not flushed, and the JSONL fd is handed back for
   * the caller to flush.
   */
  private commit(pending: readonly PendingRecord[], flush: Flush): { records: AuditRecord[]; mirrorFd: number | undefined } {
    if (this.db.inTransaction) throw new Error('AuditLog.append must not be called inside another transaction');
    if (this.mirrorBroken !== undefined) throw new AuditIntegrityError(this.mirrorBroken);
    const durable = flush === 'now' && this.fsync && this.syncMode < 2;
    if (durable) this.stmts.syncFull.run();
    try {
      const records = this.appendTx.immediate(pending, flush);
      return { records, mirrorFd: flush === 'later' ? this.pendingMirror?.fd : undefined };
    } catch (e) {
      // The inserts rolled back (a failed COMMIT included): take the JSONL lines back too.
      if (this.pendingMirror !== undefined) {
        try {
          ftruncateSync(this.pendingMirror.fd, this.pendingMirror.offset);
          fdatasyncSync(this.pendingMirror.fd);
        } catch (t) {
          this.mirrorBroken = `${this.jsonlPath} holds records the database does not (${String(t)}); restart the gateway to repair it`;
        }
      }
      throw e;
    } finally {
      this.pendingMirror = undefined;
      if (durable) this.stmts.syncRestore.run();
    }
  }

  /** Walks the whole chain in SQLite; see verifyAuditChain. */
  verify(): AuditVerifyResult {
    return verifyAuditChain(this.db);
  }

  /** Checks the JSONL mirror (default: this log's) against SQLite; see verifyAuditJsonl. */
  verifyJsonl(path: string | undefined = this.jsonlPath): AuditJsonlVerifyResult {
    if (path === undefined) throw new TypeError('this audit log has no JSONL mirror; pass a path');
    return verifyAuditJsonl(this.db, path);
  }

  /**
   * Appends the lines to the file the mirror's path names now (a rotated or deleted file is
   * noticed: a new one is started). With `flush` 'later' the caller flushes them.
   */
  private mirror(records: readonly AuditRecord[], flush: Flush): void {
    const line = Buffer.from(records.map((r) => auditJsonLine(r) + '\n').join(''), 'utf8');
    const { fd, size } = this.mirrorFile!.open();
    this.pendingMirror = { offset: size, fd };
    let done = 0;
    while (done < line.length) done += writeSync(fd, line, done, line.length - done);
    if (flush === 'now' && this.fsync) fdatasyncSync(fd);
  }

  /**
   * Brings the JSONL tail in line with SQLite at start-up (O(1) unless a gap is filled). The JSONL
   * lines are written before the SQLite commit, so a crash can leave up to MAX_GROUP_RECORDS lines
   * too many (the last one possibly torn); they were never committed and their signatures were
   * never returned, so they are removed once they are found to chain onto the head.
   * A mirror that is behind (lines lost with the page cache, or a new file after rotation) is
   * filled from SQLite. Anything else is refused: AuditIntegrityError.
   */
  private reconcileMirror(path: string): string[] {
    const notes: string[] = [];
    this.db
      .transaction(() => {
        const head = this.stmts.head.get();
        const st = statSync(path, { throwIfNoEntry: false });
        if (st && !st.isFile()) throw new AuditIntegrityError(`audit JSONL ${path} is not a regular file`);
        if (st && (st.mode & 0o077) !== 0) chmodSync(path, 0o600);
        const tail = st ? readTail(path) : { lastLine: undefined, lastLineEnd: 0, size: 0 };
        if (tail.size > tail.lastLineEnd) {
          truncateTo(path, tail.lastLineEnd);
          notes.push(`removed a torn last line (${tail.size - tail.lastLineEnd} bytes) from ${path}`);
        }
        if (tail.lastLine === undefined) {
          // A new or emptied (rotated) mirror starts at the current head, so it can be verified from there.
          if (head) this.writeLines(path, head.seq, head.seq);
          return;
        }
        let last: AuditRecord;
        try {
          last = JSON.parse(tail.lastLine.text) as AuditRecord;
        } catch {
          throw new AuditIntegrityError(`the last line of ${path} is not JSON; run \`kmsgate audit verify --jsonl\``);
        }
        const headSeq = head?.seq ?? 0;
        const headHash = head?.hash ?? GENESIS_HASH;
        if (head && last.seq === headSeq) {
          if (tail.lastLine.text === auditJsonLine(toRecord(this.stmts.get.get(headSeq)!))) return;
          throw new AuditIntegrityError(`the last line of ${path} (record ${headSeq}) differs from the database; run \`kmsgate audit verify --jsonl\``);
        }
        if (Number.isSafeInteger(last.seq) && last.seq > headSeq && last.seq - headSeq <= MAX_GROUP_RECORDS) {
          const extra = readLastLines(path, last.seq - headSeq);
          if (
            chainsOnto(
              extra.map((l) => l.text),
              headSeq,
              headHash,
            )
          ) {
            truncateTo(path, extra[0]!.start);
            const which = extra.length === 1 ? `record ${last.seq}` : `records ${headSeq + 1}-${last.seq}`;
            notes.push(`removed ${which} from ${path}: written there but never committed to the database (a crash mid-append)`);
            return;
          }
        }
        const own = Number.isSafeInteger(last.seq) && last.seq < headSeq ? this.stmts.get.get(last.seq) : undefined;
        if (own && auditJsonLine(toRecord(own)) === tail.lastLine.text) {
          this.writeLines(path, last.seq + 1, headSeq);
          notes.push(`copied records ${last.seq + 1}-${headSeq} from the database to ${path}, which ended at ${last.seq}`);
          return;
        }
        throw new AuditIntegrityError(
          `${path} ends at record ${String(last.seq)}, which does not match the database (head ${headSeq}); run \`kmsgate audit verify --jsonl\``,
        );
      })
      .immediate();
    return notes;
  }

  private writeLines(path: string, from: number, to: number): void {
    const fd = openSync(path, 'a', 0o600);
    try {
      for (const row of this.stmts.range.iterate(from, to)) {
        const line = Buffer.from(auditJsonLine(toRecord(row)) + '\n', 'utf8');
        let done = 0;
        while (done < line.length) done += writeSync(fd, line, done, line.length - done);
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function datasync(fd: () => number): Promise<void> {
  return new Promise((ok, fail) => fdatasync(fd(), (err) => (err ? fail(err) : ok())));
}

/** Whether `lines` are complete, well-formed records seq+1, seq+2, … chained onto the record (seq, hash). */
function chainsOnto(lines: readonly string[], seq: number, hash: string): boolean {
  for (const text of lines) {
    let r: AuditRecord;
    try {
      r = JSON.parse(text) as AuditRecord;
    } catch {
      return false;
    }
    const { hash: own, ...rest } = r;
    if (r.seq !== seq + 1 || r.prevHash !== hash || text !== auditJsonLine(r) || auditRecordHash(rest) !== own) return false;
    seq = r.seq;
    hash = own;
  }
  return true;
}

/** The last `n` complete lines of a file that ends with a newline, with their start offsets, read backwards in chunks. */
function readLastLines(path: string, n: number): { text: string; start: number }[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const CHUNK = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    // Newline offsets (absolute) from the end backwards; the file's last byte is the last line's newline.
    const newlines: number[] = [];
    while (pos > 0 && newlines.length <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const chunk = Buffer.alloc(len);
      readSync(fd, chunk, 0, len, pos);
      buf = Buffer.concat([chunk, buf]);
      for (let i = len - 1; i >= 0 && newlines.length <= n; i--) if (chunk[i] === 0x0a) newlines.push(pos + i);
    }
    const ends = newlines.slice(0, n).reverse();
    const starts = ends.map((_, i) => (i === 0 ? (newlines[n] ?? -1) + 1 : ends[i - 1]! + 1));
    return ends.map((end, i) => ({ text: buf.subarray(starts[i]! - pos, end - pos).toString('utf8'), start: starts[i]! }));
  } finally {
    closeSync(fd);
  }
}

function truncateTo(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The last complete line of a file, read backwards from the end in chunks (never the whole file). */
function readTail(path: string): { lastLine: { text: string; start: number } | undefined; lastLineEnd: number; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const CHUNK = 64 * 1024;
    const chunks: Buffer[] = [];
    let pos = size;
    let lastNewline = -1; // absolute offset of the last '\n'
    let prevNewline = -1; // the '\n' before it
    while (pos > 0 && prevNewline < 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      chunks.unshift(buf);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) continue;
        if (lastNewline < 0) lastNewline = pos + i;
        else if (prevNewline < 0) {
          prevNewline = pos + i;
          break;
        }
      }
      if (lastNewline < 0 && pos === 0) break;
    }
    if (lastNewline < 0) return { lastLine: undefined, lastLineEnd: 0, size };
    const start = prevNewline + 1;
    const all = Buffer.concat(chunks);
    const text = all.subarray(start - pos, lastNewline - pos).toString('utf8');
    return { lastLine: { text, start }, lastLineEnd: lastNewline + 1, size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Walks the chain in seq order with a streaming cursor (constant memory) and names the first broken
 * record: a seq gap (a deleted record), a prev_hash that is not the previous record's hash (removed,
 * reordered or re-chained records) or a hash that does not match the record's fields (an edit).
 * It cannot see records removed from the end: anchor the head hash elsewhere (docs/audit.md).
 */
export function verifyAuditChain(db: Db): AuditVerifyResult {
  let count = 0;
  let prevHash = GENESIS_HASH;
  let expected = 1;
  for (const row of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY seq').iterate()) {
    const r = toRecord(row);
    if (r.seq !== expected) {
      return { ok: false, count, brokenAt: expected, reason: `record ${expected} is missing (the next record is ${r.seq})` };
    }
    if (r.prevHash !== prevHash) {
      return {
        ok: false,
        count,
        brokenAt: r.seq,
        reason: `prev_hash of record ${r.seq} is not the hash of record ${r.seq - 1} (records removed, reordered or re-chained before it)`,
      };
    }
    if (auditRecordHash(r) !== r.hash) {
      return { ok: false, count, brokenAt: r.seq, reason: `hash of record ${r.seq} does not match its contents (the record was edited)` };
    }
    if (!(AUDIT_DECISIONS as readonly string[]).includes(r.decision)) {
      return { ok: false, count, brokenAt: r.seq, reason: `record ${r.seq} has an unknown decision` };
    }
    prevHash = r.hash;
    expected++;
    count++;
  }
  return { ok: true, count, lastHash: prevHash };
}

/** Complete lines of a file, read in chunks (constant memory apart from one line); `torn` marks a last line without its newline. */
function* readLines(path: string): Generator<{ n: number; text: string; torn: boolean }> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let carry: Buffer[] = [];
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      let start = 0;
      for (let i = 0; i < got; i++) {
        if (buf[i] !== 0x0a) continue;
        const piece = buf.subarray(start, i);
        const text = (carry.length ? Buffer.concat([...carry, piece]) : piece).toString('utf8');
        carry = [];
        start = i + 1;
        yield { n: ++n, text, torn: false };
      }
      if (start < got) carry.push(Buffer.from(buf.subarray(start, got)));
    }
    if (carry.length) yield { n: ++n, text: Buffer.concat(carry).toString('utf8'), torn: true };
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks the JSONL mirror against SQLite, line by line (streaming): every line must be exactly the
 * database's record of that seq, the seqs must be consecutive, and the file must reach the
 * database's head (read before the file, so records committed meanwhile do not count against it).
 * The file may start after record 1 (a rotated mirror). A tail that is not committed is tolerated
 * and reported as `pendingTail`: up to MAX_GROUP_RECORDS complete lines that chain onto the head
 * (a group written, then the process died before the commit, or a commit is under way), and/or a
 * torn last line.
 */
export function verifyAuditJsonl(db: Db, path: string): AuditJsonlVerifyResult {
  const headSeq = (db.prepare('SELECT max(seq) AS s FROM audit_log').get() as { s: number | null }).s ?? 0;
  const get = db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq = ?');
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st)
    return headSeq === 0
      ? { ok: true, lines: 0, firstSeq: null, lastSeq: null }
      : { ok: false, line: 0, seq: null, reason: `${path} does not exist; the database has ${headSeq} records` };
  let lines = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let lastHash: string | null = null;
  let pendingTail: 'torn' | 'uncommitted' | undefined;
  /** The uncommitted lines read so far (one group commit's worth at most): the last one's seq and hash. */
  let uncommitted: { seq: number; hash: string } | undefined;
  const fail = (line: number, seq: number | null, reason: string): AuditJsonlVerifyResult => ({ ok: false, line, seq, reason });
  for (const { n, text, torn } of readLines(path)) {
    if (pendingTail === 'torn') return fail(n - 1, lastSeq, 'a record that is not in the database is followed by more lines');
    if (torn) {
      pendingTail = 'torn';
      continue;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || !Number.isSafeInteger(parsed.seq)) throw new Error();
    } catch {
      return fail(n, null, 'not a JSON audit record');
    }
    const seq = parsed.seq as number;
    const expectedSeq: number | undefined = uncommitted ? uncommitted.seq + 1 : lastSeq !== null ? lastSeq + 1 : undefined;
    if (expectedSeq !== undefined && seq !== expectedSeq) return fail(n, seq, `expected record ${expectedSeq}, found ${seq}`);
    // Records after an uncommitted one are past the head: none of them can be in the database.
    const row = uncommitted ? undefined : get.get(seq);
    if (!row) {
      // Not committed: acceptable only at the end (one group commit's lines), chained onto what precedes and hashing right.
      const candidate = parsed as unknown as AuditRecord;
      const prev = uncommitted?.hash ?? lastHash ?? (seq === 1 ? GENESIS_HASH : get.get(seq - 1)?.hash);
      const { hash, ...rest } = candidate;
      if (
        seq > headSeq &&
        seq - headSeq <= MAX_GROUP_RECORDS &&
        candidate.prevHash === prev &&
        text === auditJsonLine(candidate) &&
        auditRecordHash(rest) === hash
      ) {
        pendingTail = 'uncommitted';
        uncommitted = { seq, hash };
        continue;
      }
      return fail(n, seq, uncommitted ? 'a record that is not in the database is followed by more lines' : `record ${seq} is not in the database`);
    }
    const expected = toRecord(row);
    if (text !== auditJsonLine(expected)) {
      const field = [...HASHED_FIELDS, 'hash' as const].find((f) => parsed[f] !== expected[f]);
      return fail(n, seq, field ? `field ${field} differs from the database's record ${seq}` : `the line is not formatted as kmsgate writes record ${seq}`);
    }
    if (firstSeq === null) firstSeq = seq;
    lastSeq = seq;
    lastHash = expected.hash;
    lines++;
  }
  const committedLast = lastSeq ?? 0;
  if (committedLast < headSeq)
    return fail(
      lines + 1,
      committedLast + 1,
      `record ${committedLast + 1} is missing: the file ends at ${committedLast || 'no record'} but the database has records up to ${headSeq}`,
    );
  return { ok: true, lines, firstSeq, lastSeq, ...(pendingTail ? { pendingTail } : {}) };
}

/** The last `n` records, oldest first (read-only; for `kmsgate audit tail`). */
export function readAuditTail(db: Db, n: number): AuditRecord[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
  const rows = db.prepare<[number], AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(n);
  return rows.reverse().map(toRecord);
}

/** The record with this seq, if there is one (read-only; `kmsgate audit verify --anchor`). */
export function readAuditRecord(db: Db, seq: number): AuditRecord | undefined {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('seq must be a positive integer');
  const row = db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq = ?').get(seq);
  return row ? toRecord(row) : undefined;
}

/** Which records readAuditRecords returns: those after `afterSeq`, narrowed by any other field given. */
export interface AuditRecordFilter {
  afterSeq: number;
  keyId?: string;
  operation?: string;
  decision?: AuditDecision;
}

/**
 * Records after `afterSeq`, oldest first, narrowed by key, operation and decision (read-only;
 * `kmsgate hsm restore` asks what changed a key since a backup, `kmsgate hsm audit` which
 * signatures kmsgate recorded since its last reconciliation).
 */
export function readAuditRecords(db: Db, filter: AuditRecordFilter): AuditRecord[] {
  if (!Number.isSafeInteger(filter.afterSeq) || filter.afterSeq < 0) throw new RangeError('afterSeq must be a non-negative integer');
  const k = filter.keyId ?? null;
  const o = filter.operation ?? null;
  const d = filter.decision ?? null;
  const rows = db
    .prepare<[number, string | null, string | null, string | null, string | null, string | null, string | null], AuditRow>(
      `SELECT * FROM audit_log WHERE seq > ? AND (? IS NULL OR key_id = ?) AND (? IS NULL OR operation = ?) AND (? IS NULL OR decision = ?)
     ORDER BY seq`,
    )
    .all(filter.afterSeq, k, k, o, o, d, d);
  return rows.map(toRecord);
}
