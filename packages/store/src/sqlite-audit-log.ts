/**
 * The audit log on SQLite (`audit_log`, migration 3), mirrored line by line to a JSONL file: the
 * AuditLog contract (contract/audit-log.ts) over the record format of audit.ts. docs/audit.md is
 * the specification.
 *
 * - The chain continues across restarts and across processes: every append reads the current head
 *   (one B-tree descent by primary key, never a scan) inside a `BEGIN IMMEDIATE` transaction, so
 *   the server and a CLI appending to the same store serialise on SQLite's write lock.
 * - SQLite is synchronous: a write is done (or has failed) by the time its Promise exists; only a
 *   group's flush to disk runs later, off the event loop.
 */
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, realpathSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import {
  AuditIntegrityError,
  GENESIS_HASH,
  auditFields,
  auditJsonLine,
  auditRecordHash,
  chainRecords,
  readAuditRecord,
  readAuditRecords,
  readAuditTail,
  repairMirrorTail,
  toAuditRecord,
  verifyAuditChain,
  verifyAuditJsonl,
  type AuditFields,
  type AuditInput,
  type AuditJsonlVerifyResult,
  type AuditRecord,
  type AuditRecordFilter,
  type AuditRow,
  type AuditVerifyResult,
} from './audit';
import { datasync, readLastLines, truncateTo } from './audit-file';
import { GroupCommit, MAX_GROUP_RECORDS, type Announcement } from './audit-group';
import type { AuditLog, AuditLogOptions, AuditReader } from './contract/audit-log';
import type { Db } from './db';
import { KeptFile } from './kept-file';

/** When a commit's writes reach stable storage: before it returns, or once the caller's asynchronous flush completes. */
type Flush = 'now' | 'later';

/** A record as validated, with its time: what the log gives its place in the chain when it commits. */
type PendingRecord = AuditFields & { at: number };

/** The readers of the contract over a SQLite store (read-only: `kmsgate audit verify` runs beside the server). */
export function sqliteAuditReader(db: Db): AuditReader {
  return {
    verify: async () => verifyAuditChain(db),
    verifyMirror: async (path) => verifyAuditJsonl(db, path),
    tail: async (n) => readAuditTail(db, n),
    record: async (seq) => readAuditRecord(db, seq),
    records: async (filter) => readAuditRecords(db, filter),
  };
}

/**
 * The hash-chained audit log of one store. Construct once per process (the server) or per command
 * (a CLI that records an admin change); both may append to the same store at the same time.
 */
export class SqliteAuditLog implements AuditLog {
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
  private readonly groups: GroupCommit<PendingRecord, AuditRecord>;
  private readonly reader: AuditReader;
  /** Set while a committed group is being flushed to disk. */
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
    this.groups = new GroupCommit((pending) => this.writeGroup(pending), opts.groupWaitMs);
    this.reader = sqliteAuditReader(db);
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
      const records = chainRecords(pending, this.stmts.head.get() ?? { seq: 0, hash: GENESIS_HASH });
      for (const record of records) this.stmts.insert.run(record);
      if (this.jsonlPath !== undefined) this.mirror(records, flush);
      return records;
    });
    this.recovered = this.jsonlPath !== undefined ? this.reconcileMirror(this.jsonlPath) : [];
  }

  /**
   * Writes one record (done when the Promise exists); rejects, and nothing is kept in either place,
   * when it cannot be written. Must not be called inside another SQLite transaction: the JSONL line
   * could not be taken back if that transaction rolled back later.
   */
  async append(input: AuditInput): Promise<AuditRecord> {
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
    return this.groups.add(record, announced);
  }

  /**
   * Announces a record that will soon be handed to `appendGrouped` with this announcement (a Sign
   * on its way to the device). While announced records are outstanding, a group waits for them
   * before it is committed, at most `groupWaitMs`: under load one flush then serves many records.
   * `settle()` calls it off when no record will come (idempotent; appendGrouped settles it).
   */
  expectGrouped(): Announcement {
    return this.groups.expect();
  }

  /** One group: committed now, flushed off the event loop (when fsync is on and SQLite is in WAL mode). */
  private writeGroup(pending: readonly PendingRecord[]): Promise<AuditRecord[]> {
    const later = this.fsync && this.wal !== undefined;
    const { records, mirrorFd } = this.commit(pending, later ? 'later' : 'now');
    if (!later) return Promise.resolve(records);
    this.flushing = true;
    return this.flushCommitted(mirrorFd)
      .then(
        () => records,
        (e: unknown) => {
          this.mirrorBroken ??= `audit records ${records[0]!.seq}-${records.at(-1)!.seq} were committed but could not be flushed to disk (${String(e)}); restart the gateway`;
          throw e;
        },
      )
      .finally(() => {
        this.flushing = false;
        for (const fd of this.retired.splice(0)) closeSync(fd);
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
  async close(): Promise<void> {
    this.mirrorFile?.close();
    this.wal?.close();
  }

  /** Checks and normalises a caller's input and gives it its time; the log adds seq, prevHash and hash when it commits. */
  private prepare(input: AuditInput): PendingRecord {
    const fields = auditFields(input);
    const at = this.now().getTime();
    if (!Number.isSafeInteger(at)) throw new RangeError('now() must return a valid date');
    return { ...fields, at };
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
  verify(): Promise<AuditVerifyResult> {
    return this.reader.verify();
  }

  /** Checks a JSONL mirror against SQLite; see verifyAuditJsonl. */
  verifyMirror(path: string): Promise<AuditJsonlVerifyResult> {
    return this.reader.verifyMirror(path);
  }

  tail(n: number): Promise<AuditRecord[]> {
    return this.reader.tail(n);
  }

  record(seq: number): Promise<AuditRecord | undefined> {
    return this.reader.record(seq);
  }

  records(filter: AuditRecordFilter): Promise<AuditRecord[]> {
    return this.reader.records(filter);
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
        const tail = repairMirrorTail(path, notes);
        if (tail === undefined) {
          // A new or emptied (rotated) mirror starts at the current head, so it can be verified from there.
          if (head) this.writeLines(path, head.seq, head.seq);
          return;
        }
        const last = tail.record;
        const headSeq = head?.seq ?? 0;
        const headHash = head?.hash ?? GENESIS_HASH;
        if (head && last.seq === headSeq) {
          if (tail.text === auditJsonLine(toAuditRecord(this.stmts.get.get(headSeq)!))) return;
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
        if (own && auditJsonLine(toAuditRecord(own)) === tail.text) {
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
        const line = Buffer.from(auditJsonLine(toAuditRecord(row)) + '\n', 'utf8');
        let done = 0;
        while (done < line.length) done += writeSync(fd, line, done, line.length - done);
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
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
