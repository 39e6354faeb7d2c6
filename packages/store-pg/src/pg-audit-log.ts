/**
 * The audit log on PostgreSQL: ONE hash chain for every gateway on the database, in the record
 * format and hash of SQLite's (packages/store/src/audit.ts), so one verifier and docs/audit.md's
 * re-implementation hold. Each record also names the gateway that wrote it, covered by its hash.
 *
 * - Appends from all gateways take turns on the chain's head: one row (`audit_head`) that every
 *   append locks with SELECT … FOR UPDATE inside its transaction. The seq, prev_hash and time are
 *   read there and the records and the new head written in the same transaction, so a gateway
 *   killed mid-write leaves either its committed records or none: never a gap, never a fork (the
 *   seq is the primary key besides).
 * - Group commit: the records one gateway hands in together are one transaction (one COMMIT, one
 *   WAL flush on the server), one group at a time per gateway, as on SQLite.
 * - `at` is the database's clock when the append took the head, whatever the gateways' clocks say.
 * - The JSONL mirror, when configured, holds the records THIS gateway wrote, each line written
 *   after its commit: a gateway's own copy of what it did, checked line by line against the
 *   database by `verifyMirror`. The database is the durable copy: a line lost to a crash between the
 *   commit and the write is copied from the database at the next start (docs/audit.md).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { closeSync, fdatasyncSync, mkdirSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  AuditChainCheck,
  AuditIntegrityError,
  GroupCommit,
  KeptFile,
  MAX_GROUP_RECORDS,
  auditFields,
  auditJsonLine,
  chainRecords,
  datasync,
  readLines,
  repairMirrorTail,
  toAuditRecord,
  type Announcement,
  type AuditFields,
  type AuditInput,
  type AuditJsonlVerifyResult,
  type AuditLog,
  type AuditReader,
  type AuditRecord,
  type AuditRecordFilter,
  type AuditVerifyResult,
} from '@kmsgate/store';
import type { Pool } from 'pg';
import { guarded, inTransaction } from './faults';
import { DB_NOW_MS } from './db-clock';

/** An `audit_log` row as node-postgres returns it: BIGINT columns as strings. */
interface PgAuditRow {
  seq: string;
  at: string;
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
  gateway: string;
}

const COLUMNS = 'seq, at, request_id, api_key_id, operation, key_id, decision, gate, reason, summary, signed_digest, prev_hash, hash, gateway';
/** Rows per page when a reader walks the chain (keyset pagination by seq: constant memory, no long transaction). */
const PAGE = 1000;

function recordOf(r: PgAuditRow): AuditRecord {
  return toAuditRecord({ ...r, seq: Number(r.seq), at: Number(r.at) });
}

function valuesOf(r: AuditRecord): unknown[] {
  return [r.seq, r.at, r.requestId, r.apiKeyId, r.operation, r.keyId, r.decision, r.gate, r.reason, r.summary, r.signedDigest, r.prevHash, r.hash, r.gateway];
}

/** The readers over a pool: what `kmsgate audit verify` and `audit tail` run against PostgreSQL, read-only. */
export class PgAuditReader implements AuditReader {
  constructor(protected readonly pool: Pool) {}

  /**
   * The chain check of every store, streamed by pages of PAGE records. The head row is read first:
   * every record up to it must be there and the last one must have its hash, so records removed
   * from the end are found too (unless the head row was rewritten with them; anchor the head hash
   * elsewhere, docs/audit.md).
   */
  async verify(): Promise<AuditVerifyResult> {
    const head = await this.#query<{ seq: string; hash: string }>('audit verify', 'SELECT seq, hash FROM audit_head');
    const headSeq = Number(head[0]?.seq ?? 0);
    const check = new AuditChainCheck();
    let hashAtHead: string | undefined;
    for (let after = 0; ;) {
      const rows = await this.#query<PgAuditRow>('audit verify', `SELECT ${COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`, [after]);
      for (const row of rows) {
        const r = recordOf(row);
        if (!check.next(r)) return check.result;
        if (r.seq === headSeq) hashAtHead = r.hash;
      }
      if (rows.length < PAGE) break;
      after = Number(rows.at(-1)!.seq);
    }
    const result = check.result;
    if (!result.ok || headSeq === 0) return result;
    if (hashAtHead === undefined)
      return {
        ok: false,
        count: result.count,
        brokenAt: result.count + 1,
        reason: `record ${result.count + 1} is missing: the chain ends at record ${result.count}, but its head says ${headSeq} (records removed from the end)`,
      };
    if (hashAtHead !== head[0]!.hash)
      return { ok: false, count: result.count, brokenAt: headSeq, reason: `record ${headSeq} is not the one the chain's head names (records replaced)` };
    return result;
  }

  /**
   * Checks a gateway's mirror: every complete line must be exactly the database's record of its
   * seq, all of one gateway, and between its first line and its last the database must hold no
   * other record of that gateway (a line removed). Records of that gateway after the last line are
   * tolerated, one group commit's worth at most (`pendingTail: 'unmirrored'`: committed, their
   * lines being written, or the gateway stopped before writing them and copies them at its next
   * start); so is a torn last line.
   */
  async verifyMirror(path: string): Promise<AuditJsonlVerifyResult> {
    if (!statSync(path, { throwIfNoEntry: false })) return { ok: true, lines: 0, firstSeq: null, lastSeq: null };
    const fail = (line: number, seq: number | null, reason: string): AuditJsonlVerifyResult => ({ ok: false, line, seq, reason });
    let gateway: string | undefined;
    let lines = 0;
    let firstSeq: number | null = null;
    let lastSeq: number | null = null;
    let torn = false;
    /** The database's records of this gateway from the first line on, in seq order, a page at a time. */
    let own: AuditRecord[] = [];
    let fetchedTo: number | undefined;
    let exhausted = false;
    const nextOwn = async (): Promise<AuditRecord | undefined> => {
      if (own.length === 0 && !exhausted) {
        own = (
          await this.#query<PgAuditRow>('audit verify', `SELECT ${COLUMNS} FROM audit_log WHERE gateway = $1 AND seq > $2 ORDER BY seq LIMIT ${PAGE}`, [
            gateway,
            fetchedTo ?? firstSeq! - 1,
          ])
        ).map(recordOf);
        exhausted = own.length < PAGE;
        fetchedTo = own.at(-1)?.seq ?? fetchedTo;
      }
      return own.shift();
    };
    for (const { n, text, torn: isTorn } of readLines(path)) {
      if (torn) return fail(n - 1, lastSeq, 'a torn line is followed by more lines');
      if (isTorn) {
        torn = true;
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
      if (typeof parsed.gateway !== 'string') return fail(n, seq, 'the line names no gateway (a mirror of a shared store holds one gateway’s records)');
      if (gateway === undefined) {
        gateway = parsed.gateway;
        firstSeq = seq;
      } else if (parsed.gateway !== gateway) return fail(n, seq, `record ${seq} was written by ${parsed.gateway}, not by ${gateway} as the lines before it`);
      const expected = await nextOwn();
      if (expected === undefined || expected.seq > seq) return fail(n, seq, `record ${seq} of ${gateway} is not in the database`);
      if (expected.seq < seq) return fail(n, expected.seq, `record ${expected.seq} of ${gateway} is missing before this line`);
      if (text !== auditJsonLine(expected)) {
        const field = Object.keys(parsed).find((f) => parsed[f] !== (expected as unknown as Record<string, unknown>)[f]);
        return fail(n, seq, field ? `field ${field} differs from the database's record ${seq}` : `the line is not formatted as kmsgate writes record ${seq}`);
      }
      lastSeq = seq;
      lines++;
    }
    let unmirrored = 0;
    if (gateway !== undefined) {
      while ((await nextOwn()) !== undefined) {
        if (++unmirrored > MAX_GROUP_RECORDS) break;
      }
    }
    if (unmirrored > MAX_GROUP_RECORDS)
      return fail(lines + 1, null, `the file ends at record ${lastSeq}, but the database has more than ${MAX_GROUP_RECORDS} later records of ${gateway}`);
    const pendingTail = torn ? 'torn' : unmirrored > 0 ? 'unmirrored' : undefined;
    return { ok: true, lines, firstSeq, lastSeq, ...(pendingTail ? { pendingTail } : {}) };
  }

  async tail(n: number): Promise<AuditRecord[]> {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
    const rows = await this.#query<PgAuditRow>('audit tail', `SELECT ${COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1`, [n]);
    return rows.reverse().map(recordOf);
  }

  async record(seq: number): Promise<AuditRecord | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('seq must be a positive integer');
    const rows = await this.#query<PgAuditRow>('audit read', `SELECT ${COLUMNS} FROM audit_log WHERE seq = $1`, [seq]);
    return rows[0] && recordOf(rows[0]);
  }

  async records(filter: AuditRecordFilter): Promise<AuditRecord[]> {
    if (!Number.isSafeInteger(filter.afterSeq) || filter.afterSeq < 0) throw new RangeError('afterSeq must be a non-negative integer');
    const rows = await this.#query<PgAuditRow>(
      'audit read',
      `SELECT ${COLUMNS} FROM audit_log WHERE seq > $1 AND ($2::text IS NULL OR key_id = $2) AND ($3::text IS NULL OR operation = $3)
         AND ($4::text IS NULL OR decision = $4) ORDER BY seq`,
      [filter.afterSeq, filter.keyId ?? null, filter.operation ?? null, filter.decision ?? null],
    );
    return rows.map(recordOf);
  }

  async #query<R extends object>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    return (await guarded(what, () => this.pool.query<R>(sql, params))).rows;
  }
}

export interface PgAuditLogOptions {
  /**
   * This gateway's name, recorded in every record it writes. Each gateway on one database needs its
   * own; a mirror holds one gateway's records. Default: the host name, and with a mirror also a
   * short hash of the mirror's directory (the data dir), so two gateways on one host differ and a
   * restarted gateway keeps its name.
   */
  gateway?: string;
  /** This gateway's mirror of the records it writes; none when omitted. */
  jsonlPath?: string;
  /** fdatasync each mirror line before the write is acknowledged (default true). The database commits durably either way. */
  fsync?: boolean;
  /** The longest a gathering group waits for records announced with `expectGrouped` (default GROUP_WAIT_MS). */
  groupWaitMs?: number;
}

/** `host` or `host-<8 hex of SHA-256 of the mirror's directory>`: stable across restarts, distinct per data dir. */
export function defaultGatewayName(jsonlPath: string | undefined): string {
  const host =
    hostname()
      .replace(/[^\x21-\x7e]/g, '?')
      .slice(0, 100) || 'gateway';
  if (jsonlPath === undefined) return host;
  return `${host}-${createHash('sha256')
    .update(resolve(dirname(jsonlPath)))
    .digest('hex')
    .slice(0, 8)}`;
}

/** Every character a gateway's name may hold: printable, no line breaks, at most 128. */
const GATEWAY_NAME = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

export class PgAuditLog extends PgAuditReader implements AuditLog {
  readonly gateway: string;
  readonly jsonlPath: string | undefined;
  recovered: readonly string[] = [];
  readonly #fsync: boolean;
  readonly #groups: GroupCommit<AuditFields, AuditRecord>;
  readonly #mirror: KeptFile | undefined;
  /** The last record of this gateway that the mirror holds (or that it started after). */
  #mirrored = 0;
  /** Set when a write failed: its records may have been committed all the same (a lost COMMIT reply), so the mirror catches up from the database first. */
  #mirrorBehind = false;
  /** Set when mirror lines could not be written: every later write refuses until a restart repairs the mirror (fail closed). */
  #mirrorBroken: string | undefined;
  /** The write under way: this gateway's writes (groups and single appends) run one after the other, so its mirror lines come in seq order. */
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(pool: Pool, opts: PgAuditLogOptions) {
    super(pool);
    const gateway = opts.gateway ?? defaultGatewayName(opts.jsonlPath);
    if (typeof gateway !== 'string' || !GATEWAY_NAME.test(gateway)) throw new TypeError('gateway must be 1-128 printable ASCII characters');
    if (opts.jsonlPath !== undefined && (typeof opts.jsonlPath !== 'string' || opts.jsonlPath === ''))
      throw new TypeError('jsonlPath must be a non-empty string');
    this.gateway = gateway;
    this.jsonlPath = opts.jsonlPath;
    this.#fsync = opts.fsync ?? true;
    this.#groups = new GroupCommit((fields) => this.#write(fields), opts.groupWaitMs);
    if (this.jsonlPath !== undefined) {
      mkdirSync(dirname(this.jsonlPath), { recursive: true, mode: 0o700 });
      this.#mirror = new KeptFile(this.jsonlPath, 'a', closeSync, 0o600);
    }
  }

  /** Opens the log on a migrated database; with a mirror, first brings it in line with the database (AuditIntegrityError when it contradicts it). */
  static async open(pool: Pool, opts: PgAuditLogOptions = {}): Promise<PgAuditLog> {
    const log = new PgAuditLog(pool, opts);
    if (log.jsonlPath !== undefined) log.recovered = await log.#reconcileMirror(log.jsonlPath);
    return log;
  }

  /** Writes one record in a transaction of its own; rejects, keeping nothing, when it cannot. */
  async append(input: AuditInput): Promise<AuditRecord> {
    return (await this.#write([auditFields(input)]))[0]!;
  }

  appendGrouped(input: AuditInput, announced?: Announcement): Promise<AuditRecord> {
    let fields: AuditFields;
    try {
      fields = auditFields(input);
    } catch (e) {
      announced?.settle();
      return Promise.reject(e);
    }
    return this.#groups.add(fields, announced);
  }

  expectGrouped(): Announcement {
    return this.#groups.expect();
  }

  async close(): Promise<void> {
    this.#mirror?.close();
  }

  /**
   * After the write before it (they would wait for each other on the head row anyway): so this
   * gateway's records are committed, and mirrored, in seq order.
   */
  #write(fields: readonly AuditFields[]): Promise<AuditRecord[]> {
    const run = this.#writing.then(() => this.#writeNow(fields));
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /**
   * One transaction: the head locked (other gateways' appends wait here), the records chained onto
   * it and inserted, the head moved, COMMIT. Then this gateway's mirror lines.
   */
  async #writeNow(fields: readonly AuditFields[]): Promise<AuditRecord[]> {
    if (this.#mirrorBroken !== undefined) throw new AuditIntegrityError(this.#mirrorBroken);
    let records: AuditRecord[];
    try {
      records = await guarded('audit append', () =>
        inTransaction(this.pool, async (client) => {
          const { rows } = await client.query<{ seq: string; hash: string; now: string }>(`SELECT seq, hash, ${DB_NOW_MS} AS now FROM audit_head FOR UPDATE`);
          const head = rows[0];
          if (head === undefined) throw new AuditIntegrityError('the audit chain has no head row (audit_head is empty)');
          const at = Number(head.now);
          const chained = chainRecords(
            fields.map((f) => ({ ...f, at })),
            { seq: Number(head.seq), hash: head.hash },
            this.gateway,
          );
          const width = 14;
          const placeholders = chained.map((_, i) => `(${Array.from({ length: width }, (_, c) => `$${i * width + c + 1}`).join(', ')})`);
          const last = chained.at(-1)!;
          await client.query(
            `WITH appended AS (INSERT INTO audit_log (${COLUMNS}) VALUES ${placeholders.join(', ')})
             UPDATE audit_head SET seq = $${chained.length * width + 1}, hash = $${chained.length * width + 2}`,
            [...chained.flatMap(valuesOf), last.seq, last.hash],
          );
          return chained;
        }),
      );
    } catch (e) {
      this.#mirrorBehind = true;
      throw e;
    }
    if (this.#mirror !== undefined) await this.#mirrorRecords(records);
    return records;
  }

  /** Appends the lines of committed records (after any of this gateway's records the mirror missed); fails closed when it cannot. */
  async #mirrorRecords(records: readonly AuditRecord[]): Promise<void> {
    try {
      let lines = records;
      if (this.#mirrorBehind) {
        const missed = await this.#ownRecords(this.#mirrored, records[0]!.seq);
        lines = [...missed, ...records];
        this.#mirrorBehind = false;
      }
      const { fd } = this.#mirror!.open();
      const bytes = Buffer.from(lines.map((r) => auditJsonLine(r) + '\n').join(''), 'utf8');
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      if (this.#fsync) await datasync(() => fd);
      this.#mirrored = records.at(-1)!.seq;
    } catch (e) {
      this.#mirrorBroken ??= `audit records ${records[0]!.seq}-${records.at(-1)!.seq} were committed but could not be written to ${this.jsonlPath} (${String(e)}); restart the gateway to repair the mirror`;
      throw e;
    }
  }

  /** This gateway's records with after < seq < before (before: none given = all), oldest first. */
  async #ownRecords(after: number, before?: number): Promise<AuditRecord[]> {
    const { rows } = await guarded('audit mirror', () =>
      this.pool.query<PgAuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE gateway = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq`, [
        this.gateway,
        after,
        before ?? null,
      ]),
    );
    return rows.map(recordOf);
  }

  /**
   * At start: a torn last line is cut off (its record was committed: it is copied again below);
   * the last complete line must be exactly the database's record of its seq and of this gateway
   * (else AuditIntegrityError); this gateway's records committed after it (a crash between commit
   * and mirror write) are copied from the database. A new or emptied (rotated) mirror starts with
   * the next record this gateway writes.
   */
  async #reconcileMirror(path: string): Promise<string[]> {
    const notes: string[] = [];
    const tail = repairMirrorTail(path, notes);
    if (tail === undefined) {
      const { rows } = await guarded('audit mirror', () =>
        this.pool.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM audit_log WHERE gateway = $1', [this.gateway]),
      );
      this.#mirrored = Number(rows[0]?.seq ?? 0);
      return notes;
    }
    const last = tail.record;
    const own = Number.isSafeInteger(last.seq) ? await this.record(last.seq) : undefined;
    if (own?.gateway !== undefined && own.gateway !== this.gateway && auditJsonLine(own) === tail.text)
      throw new AuditIntegrityError(
        `${path} holds the records of gateway ${own.gateway}, and this gateway is named ${this.gateway} (audit.gatewayName): ` +
          `one mirror holds one gateway's records; move ${path} aside (\`kmsgate audit verify --jsonl <file>\` still checks it) to start a new one`,
      );
    if (own === undefined || own.gateway !== this.gateway || auditJsonLine(own) !== tail.text)
      throw new AuditIntegrityError(
        `${path} ends at record ${String(last.seq)}, which is not this gateway's (${this.gateway}) record in the database; run \`kmsgate audit verify --jsonl\``,
      );
    this.#mirrored = own.seq;
    const missed = await this.#ownRecords(own.seq);
    if (missed.length > 0) {
      const { fd } = this.#mirror!.open();
      const bytes = Buffer.from(missed.map((r) => auditJsonLine(r) + '\n').join(''), 'utf8');
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fdatasyncSync(fd);
      this.#mirrored = missed.at(-1)!.seq;
      notes.push(
        `copied ${missed.length} record(s) of ${this.gateway} (${missed[0]!.seq}-${this.#mirrored}) from the database to ${path}: committed, but not mirrored before the gateway stopped`,
      );
    }
    return notes;
  }
}
