/**
 * The audit log's record format, shared by every store (docs/audit.md is the specification): the
 * record, the canonical encoding its hash covers, the validation of what callers hand in, the chain
 * check every verifier runs, and SQLite's readers (the writer is sqlite-audit-log.ts; PostgreSQL's
 * is @kmsgate/store-pg's PgAuditLog, over the same format and hash).
 *
 * - Each record's hash is SHA-256 over a canonical encoding of all its fields and the previous
 *   record's hash (see `auditRecordHash`); the first record's previous hash is GENESIS_HASH.
 * - A record written to a shared store also names the gateway that wrote it; the hash covers that
 *   name, and a record without one hashes exactly as before, so existing chains stay valid.
 */
import { createHash } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { readLines, readTail, truncateTo } from './audit-file';
import { MAX_GROUP_RECORDS } from './audit-group';
import type { Db } from './db';

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
  /**
   * The gateway that wrote the record, on a shared store (PostgreSQL); absent on SQLite. Hashed
   * after prevHash when present, so a record without it hashes as every record did before.
   */
  gateway?: string;
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
      /**
       * Not a failure (see docs/audit.md): a tail the gateway removes at its next start ('torn', and
       * on SQLite 'uncommitted'), or on a shared store records committed whose lines are still to
       * be written ('unmirrored': the gateway writes them, or copies them at its next start).
       */
      pendingTail?: 'torn' | 'uncommitted' | 'unmirrored';
    }
  | { ok: false; line: number; seq: number | null; reason: string };

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

/** A stored row, by column name (integers as numbers). */
export interface AuditRow {
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
  gateway?: string | null;
}

export function toAuditRecord(r: AuditRow): AuditRecord {
  const record: AuditRecord = {
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
  if (r.gateway !== undefined && r.gateway !== null) record.gateway = r.gateway;
  return record;
}

/**
 * SHA-256 (lowercase hex) of AUDIT_HASH_DOMAIN followed by each field of HASHED_FIELDS in order,
 * then `gateway` when the record has one:
 * null → 0x00; integer → 0x02 ‖ int64 big-endian; string → 0x01 ‖ uint32 big-endian byte length ‖ UTF-8.
 * Every field is self-delimiting, so a record with a gateway can never encode like one without.
 */
export function auditRecordHash(r: Omit<AuditRecord, 'hash'>): string {
  const values: (string | number | null)[] = HASHED_FIELDS.map((f) => r[f]);
  if (r.gateway !== undefined) values.push(r.gateway);
  // One buffer, one update: hashing runs once per record on append and on every verify.
  let size = DOMAIN_BYTES.length;
  for (const v of values) size += v === null ? 1 : typeof v === 'number' ? 9 : 5 + Buffer.byteLength(v, 'utf8');
  const buf = Buffer.allocUnsafe(size);
  let o = DOMAIN_BYTES.copy(buf, 0);
  for (const v of values) {
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

/** The JSONL line of a record (without the newline): the fields in HASHED_FIELDS order, `gateway` if it has one, then `hash`. */
export function auditJsonLine(r: AuditRecord): string {
  const o: Record<string, unknown> = {};
  for (const f of HASHED_FIELDS) o[f] = r[f];
  if (r.gateway !== undefined) o.gateway = r.gateway;
  o.hash = r.hash;
  return JSON.stringify(o);
}

/** Lone surrogates (no UTF-8 form) and U+0000 (which PostgreSQL's text cannot hold). */
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/**
 * Strings reach the log from request input; what not every store can hold as text (a lone
 * surrogate, U+0000) becomes U+FFFD, so a record reads back exactly as it was hashed on every store.
 */
function text(value: unknown, field: string, optional: boolean): string | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    throw new TypeError(`${field} is required`);
  }
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${field} must be a non-empty string`);
  return value.replace(UNSTORABLE, '\uFFFD');
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
  return json.replace(UNSTORABLE, '\uFFFD');
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, optional: boolean): T | null {
  if (value === undefined && optional) return null;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new TypeError(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** A record as validated, before the log gives it its time and its place in the chain (seq, prevHash, hash). */
export type AuditFields = Omit<AuditRecord, 'seq' | 'at' | 'prevHash' | 'hash' | 'gateway'>;

/** Checks and normalises a caller's input (throws TypeError or RangeError naming the field). */
export function auditFields(input: AuditInput): AuditFields {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  if (input.signedDigest !== undefined && !(input.signedDigest instanceof Uint8Array)) throw new TypeError('signedDigest must be a Uint8Array');
  return {
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
 * Chains `fields` onto the record (seq, prevHash): gives each its seq, its time and its hash, in
 * order. What every store's writer does inside the transaction that holds the chain's head.
 */
export function chainRecords(fields: readonly (AuditFields & { at: number })[], head: { seq: number; hash: string }, gateway?: string): AuditRecord[] {
  let { seq, hash: prevHash } = head;
  return fields.map((f) => {
    const unhashed: Omit<AuditRecord, 'hash'> = { ...f, seq: ++seq, prevHash, ...(gateway !== undefined ? { gateway } : {}) };
    const record: AuditRecord = { ...unhashed, hash: auditRecordHash(unhashed) };
    prevHash = record.hash;
    return record;
  });
}

/** Thrown when the JSONL mirror and the database disagree in a way the log will not repair by itself. */
export class AuditIntegrityError extends Error {}

/**
 * The start-up repair both stores make to a JSONL mirror before they compare it with their
 * database: it must be a regular file (made 0600 if it was more open) and a torn last line (a crash
 * mid-write) is cut off, said in `notes`. Returns the last complete line, parsed; undefined for a
 * missing or empty mirror. AuditIntegrityError when that line is not JSON.
 */
export function repairMirrorTail(path: string, notes: string[]): { text: string; record: AuditRecord } | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!st.isFile()) throw new AuditIntegrityError(`audit JSONL ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o600);
  const tail = readTail(path);
  if (tail.size > tail.lastLineEnd) {
    truncateTo(path, tail.lastLineEnd);
    notes.push(`removed a torn last line (${tail.size - tail.lastLineEnd} bytes) from ${path}`);
  }
  if (tail.lastLine === undefined) return undefined;
  try {
    return { text: tail.lastLine.text, record: JSON.parse(tail.lastLine.text) as AuditRecord };
  } catch {
    throw new AuditIntegrityError(`the last line of ${path} is not JSON; run \`kmsgate audit verify --jsonl\``);
  }
}

/**
 * The chain check every verifier runs, one record at a time in seq order (so a reader can stream
 * them from any store): the first broken record is named, and nothing after it is looked at.
 */
export class AuditChainCheck {
  #count = 0;
  #prevHash = GENESIS_HASH;
  #expected = 1;
  #broken: Extract<AuditVerifyResult, { ok: false }> | undefined;

  /** Checks the next record; false once the chain is broken (stop feeding it). */
  next(r: AuditRecord): boolean {
    if (this.#broken) return false;
    const fail = (brokenAt: number, reason: string) => {
      this.#broken = { ok: false, count: this.#count, brokenAt, reason };
      return false;
    };
    if (r.seq !== this.#expected) return fail(this.#expected, `record ${this.#expected} is missing (the next record is ${r.seq})`);
    if (r.prevHash !== this.#prevHash)
      return fail(r.seq, `prev_hash of record ${r.seq} is not the hash of record ${r.seq - 1} (records removed, reordered or re-chained before it)`);
    if (auditRecordHash(r) !== r.hash) return fail(r.seq, `hash of record ${r.seq} does not match its contents (the record was edited)`);
    if (!(AUDIT_DECISIONS as readonly string[]).includes(r.decision)) return fail(r.seq, `record ${r.seq} has an unknown decision`);
    this.#prevHash = r.hash;
    this.#expected++;
    this.#count++;
    return true;
  }

  get result(): AuditVerifyResult {
    return this.#broken ?? { ok: true, count: this.#count, lastHash: this.#prevHash };
  }
}

/**
 * Walks the chain in seq order with a streaming cursor (constant memory) and names the first broken
 * record: a seq gap (a deleted record), a prev_hash that is not the previous record's hash (removed,
 * reordered or re-chained records) or a hash that does not match the record's fields (an edit).
 * It cannot see records removed from the end: anchor the head hash elsewhere (docs/audit.md).
 */
export function verifyAuditChain(db: Db): AuditVerifyResult {
  const check = new AuditChainCheck();
  for (const row of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY seq').iterate()) if (!check.next(toAuditRecord(row))) break;
  return check.result;
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
    const expected = toAuditRecord(row);
    if (text !== auditJsonLine(expected)) {
      const field = [...HASHED_FIELDS, 'gateway' as const, 'hash' as const].find((f) => parsed[f] !== expected[f]);
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
  return rows.reverse().map(toAuditRecord);
}

/** The record with this seq, if there is one (read-only; `kmsgate audit verify --anchor`). */
export function readAuditRecord(db: Db, seq: number): AuditRecord | undefined {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('seq must be a positive integer');
  const row = db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq = ?').get(seq);
  return row ? toAuditRecord(row) : undefined;
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
  return rows.map(toAuditRecord);
}
