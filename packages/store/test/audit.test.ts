import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb, type Db } from '../src/db';
import {
  AuditIntegrityError,
  GENESIS_HASH,
  auditJsonLine,
  auditRecordHash,
  readAuditTail,
  verifyAuditChain,
  verifyAuditJsonl,
  type AuditInput,
  type AuditRecord,
} from '../src/audit';
import { MAX_GROUP_RECORDS } from '../src/audit-group';
import { SqliteAuditLog } from '../src/sqlite-audit-log';

/** The audit log on real SQLite files and a real JSONL file in a temporary directory. */
const ROOT = join(__dirname, '..', '..', '..');
let dir: string;
let dbPath: string;
let jsonl: string;
const open: Db[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-audit-'));
  dbPath = join(dir, 'kms.db');
  jsonl = join(dir, 'audit.jsonl');
});
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function db(): Db {
  const d = openDb(dbPath);
  open.push(d);
  return d;
}

let clock = Date.UTC(2026, 0, 1);
function log(d: Db = db(), opts: { fsync?: boolean; jsonlPath?: string | null } = {}): SqliteAuditLog {
  return new SqliteAuditLog(d, {
    ...(opts.jsonlPath === null ? {} : { jsonlPath: opts.jsonlPath ?? jsonl }),
    now: () => new Date(clock++),
    fsync: opts.fsync ?? false,
  });
}

function input(i: number, extra: Partial<AuditInput> = {}): AuditInput {
  return { requestId: `req-${i}`, apiKeyId: 'ak_00000000000000aa', operation: 'Sign', keyId: 'k1', decision: 'accept', ...extra };
}

/** What an attacker with write access to kms.db does first. */
function dropTriggers(d: Db): void {
  d.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
}

function jsonlLines(): string[] {
  return readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

describe('the chain hash', () => {
  const vectors = JSON.parse(readFileSync(join(__dirname, 'vectors', 'audit-chain.json'), 'utf8')) as {
    cases: { result: string; record: AuditRecord; jsonl: string }[];
  };

  it.each(vectors.cases.map((c, i) => [i, c] as const))('matches the reference implementation (case %i)', (_i, c) => {
    const { hash, ...rest } = c.record;
    if (c.result === 'valid') {
      expect(auditRecordHash(rest)).toBe(hash);
      expect(auditJsonLine(c.record)).toBe(c.jsonl);
    } else if (c.result === 'invalid') {
      expect(auditRecordHash(rest)).not.toBe(hash);
    } else {
      throw new Error(`unknown vector result ${c.result}`);
    }
  });

  it('starts from the genesis value and links each record to the previous one', async () => {
    const l = log();
    const a = await l.append(input(1));
    const b = await l.append(input(2, { decision: 'deny', gate: 'policy', reason: 'per_tx_cap' }));
    expect(a).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(b).toMatchObject({ seq: 2, prevHash: a.hash, gate: 'policy', reason: 'per_tx_cap' });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the docs/audit.md Python verifier's view too (when python3 is installed)", async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'audit.md'), 'utf8');
    const script = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(script).toBeDefined();
    if (spawnSync('python3', ['--version']).status !== 0) return;
    const l = log();
    for (let i = 0; i < 20; i++) await l.append(input(i, { summary: { i, amount: 10n ** 20n, note: 'é ✓ \u0001' }, signedDigest: new Uint8Array([i]) }));
    const scriptPath = join(dir, 'verify.py');
    writeFileSync(scriptPath, script!);
    const ok = spawnSync('python3', [scriptPath, jsonl], { encoding: 'utf8' });
    expect(ok.stdout).toContain('OK: 20 records');
    expect(ok.status).toBe(0);
    const lines = jsonlLines();
    lines[6] = lines[6]!.replace('"decision":"accept"', '"decision":"deny"');
    writeFileSync(jsonl, lines.join('\n') + '\n');
    const bad = spawnSync('python3', [scriptPath, jsonl], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('BROKEN at record 7');
  });
});

describe('append', () => {
  it('keeps the fields, the summary as JSON (bigint as decimal, bytes as hex) and SHA-256 of the signed bytes', async () => {
    const signed = new Uint8Array([1, 2, 3]);
    const r = await log().append(input(1, { summary: { amount: 12345678901234567890n, data: new Uint8Array([0xde, 0xad]), to: 'x' }, signedDigest: signed }));
    expect(r.summary).toBe('{"amount":"12345678901234567890","data":"dead","to":"x"}');
    expect(r.signedDigest).toBe(createHash('sha256').update(signed).digest('hex'));
    expect(readAuditTail(db(), 1)).toEqual([r]);
    expect(jsonlLines()).toEqual([auditJsonLine(r)]);
  });

  it('replaces lone surrogates (they have no UTF-8 form) rather than hashing something ambiguous', async () => {
    const r = await log().append(input(1, { keyId: 'a\uD800b', decision: 'deny' }));
    expect(r.keyId).toBe('a\uFFFDb');
    expect(verifyAuditChain(db()).ok).toBe(true);
  });

  it('refuses malformed input, naming the field', async () => {
    const l = log();
    await expect(l.append({ ...input(1), requestId: '' })).rejects.toThrow(/requestId/);
    await expect(l.append({ ...input(1), decision: 'maybe' as never })).rejects.toThrow(/decision must be one of accept, deny, replay, admin/);
    await expect(l.append({ ...input(1), gate: 'firewall' as never })).rejects.toThrow(/gate/);
    await expect(l.append({ ...input(1), signedDigest: 'ab' as never })).rejects.toThrow(/signedDigest/);
    await expect(l.append({ ...input(1), summary: () => 1 })).rejects.toThrow(/summary/);
    expect(verifyAuditChain(db())).toEqual({ ok: true, count: 0, lastHash: GENESIS_HASH });
  });

  it('refuses to run inside another transaction (its JSONL line could not be taken back)', async () => {
    const d = db();
    const l = log(d);
    let attempt: Promise<unknown> | undefined;
    d.transaction(() => {
      attempt = l.append(input(1));
    })();
    await expect(attempt).rejects.toThrow(/inside another transaction/);
    expect(existsLines()).toBe(0);
  });

  it('creates the JSONL mirror with mode 0600 and tightens an existing one', async () => {
    await log().append(input(1));
    expect(statSync(jsonl).mode & 0o777).toBe(0o600);
    const other = join(dir, 'other.jsonl');
    writeFileSync(other, '', { mode: 0o644 });
    log(db(), { jsonlPath: other });
    expect(statSync(other).mode & 0o777).toBe(0o600);
  });

  it('throws and keeps nothing when the JSONL line cannot be written', async () => {
    const l = log();
    await l.append(input(1));
    rmSync(jsonl);
    mkdirSync(jsonl); // the mirror's path is now a directory: open() fails with EISDIR
    await expect(l.append(input(2))).rejects.toThrow(/EISDIR/);
    expect(verifyAuditChain(db())).toMatchObject({ ok: true, count: 1 });
    rmSync(jsonl, { recursive: true });
    // Fixed: the chain goes on from record 1, in a new mirror file.
    expect(await l.append(input(3))).toMatchObject({ seq: 2 });
    expect(verifyAuditChain(db())).toMatchObject({ ok: true, count: 2 });
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: true, firstSeq: 2, lastSeq: 2 });
  });

  it('takes the JSONL line back when the SQLite commit fails after it was written', async () => {
    const d = db();
    const l = log(d);
    await l.append(input(1));
    // A deferred foreign key fails only at COMMIT, i.e. after the line was written.
    d.exec(`CREATE TABLE parent (y INTEGER PRIMARY KEY); CREATE TABLE trap (x REFERENCES parent (y) DEFERRABLE INITIALLY DEFERRED);
      CREATE TEMP TRIGGER trap_audit AFTER INSERT ON audit_log WHEN NEW.request_id = 'req-2' BEGIN INSERT INTO trap VALUES (1); END;`);
    // Matched by message: better-sqlite3's SqliteError comes from the realm of the first test file
    // that loaded the addon in this jest worker, so `rejects.toThrow` may not see it as an Error.
    await expect(l.append(input(2))).rejects.toMatchObject({ message: expect.stringMatching(/FOREIGN KEY/) });
    expect(jsonlLines()).toHaveLength(1);
    expect(await l.append(input(3))).toMatchObject({ seq: 2 });
    expect(verifyAuditJsonl(d, jsonl)).toMatchObject({ ok: true, lines: 2 });
  });

  it('throws when the database is closed', async () => {
    const d = db();
    const l = log(d);
    d.close();
    await expect(l.append(input(1))).rejects.toMatchObject({ message: expect.stringMatching(/not open/) });
  });

  it('reads one row of history (the head, by primary key), however long the history is', async () => {
    const plans = (d: Database.Database, sql: string) => (d.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail);
    const statementsOf = async (rows: number): Promise<string[]> => {
      const path = join(dir, `plan-${rows}.db`);
      openDb(path).close(); // the real schema
      const seen: string[] = [];
      const d = new Database(path, { verbose: (s) => seen.push(String(s)) });
      open.push(d);
      if (rows > 0) {
        d.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
          INSERT INTO audit_log SELECT i, i, 'r', NULL, 'Sign', NULL, 'accept', NULL, NULL, NULL, NULL, printf('%064d', i - 1), printf('%064d', i) FROM n`);
      }
      const l = new SqliteAuditLog(d, { fsync: false });
      seen.length = 0;
      expect((await l.append(input(1))).seq).toBe(rows + 1);
      const statements = seen.map((s) => s.replace(/VALUES \([\s\S]*\)$/, 'VALUES (…)'));
      for (const s of statements.filter((x) => /^\s*SELECT/.test(x))) {
        for (const detail of plans(d, s)) expect(detail).toMatch(/^(SEARCH audit_log|SCALAR SUBQUERY)/);
      }
      return statements;
    };
    const empty = await statementsOf(0);
    expect(empty).toEqual([
      'BEGIN IMMEDIATE',
      expect.stringMatching(/^SELECT seq, hash FROM audit_log WHERE seq = \(SELECT max\(seq\)/),
      expect.stringMatching(/^INSERT INTO audit_log/),
      'COMMIT',
    ]);
    expect(await statementsOf(100_000)).toEqual(empty);
  });
});

describe('group commit (appendGrouped)', () => {
  it('writes every record handed in during one turn in one transaction, one JSONL write and one flush', async () => {
    const path = join(dir, 'group.db');
    openDb(path).close(); // the real schema
    const seen: string[] = [];
    const d = new Database(path, { verbose: (s) => seen.push(String(s).replace(/VALUES \([\s\S]*\)$/, 'VALUES (…)')) });
    open.push(d);
    const l = new SqliteAuditLog(d, { jsonlPath: jsonl, fsync: true, now: () => new Date(clock++) });
    seen.length = 0;
    const records = await Promise.all([1, 2, 3].map((i) => l.appendGrouped(input(i))));
    expect(records.map((r) => [r.seq, r.requestId])).toEqual([
      [1, 'req-1'],
      [2, 'req-2'],
      [3, 'req-3'],
    ]);
    expect(seen.filter((s) => !s.startsWith('PRAGMA'))).toEqual([
      'BEGIN IMMEDIATE',
      expect.stringMatching(/^SELECT seq, hash FROM audit_log/),
      expect.stringMatching(/^INSERT INTO audit_log/),
      expect.stringMatching(/^INSERT INTO audit_log/),
      expect.stringMatching(/^INSERT INTO audit_log/),
      'COMMIT',
    ]);
    expect(verifyAuditChain(d)).toMatchObject({ ok: true, count: 3 });
    expect(verifyAuditJsonl(d, jsonl)).toMatchObject({ ok: true, lines: 3 });
    // The next turn is the next group, chained onto the first.
    expect((await l.appendGrouped(input(4))).prevHash).toBe(records[2]!.hash);
  });

  it('rejects every record of a group whose write fails, and keeps none of them', async () => {
    const l = log();
    await l.appendGrouped(input(1));
    rmSync(jsonl);
    mkdirSync(jsonl); // the mirror cannot be opened: the whole group fails
    const results = await Promise.allSettled([2, 3, 4].map((i) => l.appendGrouped(input(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/EISDIR/);
    expect(verifyAuditChain(db())).toMatchObject({ ok: true, count: 1 });
    rmSync(jsonl, { recursive: true });
    expect(await l.appendGrouped(input(5))).toMatchObject({ seq: 2, requestId: 'req-5' });
  });

  it('takes back every JSONL line of a group whose SQLite commit fails', async () => {
    const d = db();
    const l = log(d);
    await l.appendGrouped(input(1));
    // A deferred foreign key fails only at COMMIT, i.e. after the group's lines were written.
    d.exec(`CREATE TABLE parent (y INTEGER PRIMARY KEY); CREATE TABLE trap (x REFERENCES parent (y) DEFERRABLE INITIALLY DEFERRED);
      CREATE TEMP TRIGGER trap_audit AFTER INSERT ON audit_log WHEN NEW.request_id = 'req-3' BEGIN INSERT INTO trap VALUES (1); END;`);
    const results = await Promise.allSettled([2, 3, 4].map((i) => l.appendGrouped(input(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(jsonlLines()).toHaveLength(1);
    expect(verifyAuditJsonl(d, jsonl)).toMatchObject({ ok: true, lines: 1 });
    expect(verifyAuditChain(d)).toMatchObject({ ok: true, count: 1 });
  });

  it('flushes off the event loop: records handed in while a flush runs wait for it, then go together, chained', async () => {
    const d = db();
    const l = log(d, { fsync: true });
    const first = l.appendGrouped(input(1));
    // The first group is committed in the next turn and its flush starts; these arrive during it.
    await new Promise((r) => setImmediate(r));
    let firstDone = false;
    void first.then(() => {
      firstDone = true;
    });
    const later = [2, 3, 4].map((i) => l.appendGrouped(input(i)).then((r) => ({ r, afterFirst: firstDone })));
    const records = [
      await first,
      ...(await Promise.all(later)).map((x) => {
        expect(x.afterFirst).toBe(true);
        return x.r;
      }),
    ];
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    records.slice(1).forEach((r, i) => expect(r.prevHash).toBe(records[i]!.hash));
    expect(verifyAuditJsonl(d, jsonl)).toMatchObject({ ok: true, lines: 4 });
  });

  it('a group waits for announced records: they join it when they arrive, over several turns, until none is outstanding', async () => {
    const path = join(dir, 'wait.db');
    openDb(path).close(); // the real schema
    const seen: string[] = [];
    const d = new Database(path, { verbose: (s) => seen.push(String(s)) });
    open.push(d);
    // A wait far longer than the test: only the announcements decide when the group goes.
    const l = new SqliteAuditLog(d, { jsonlPath: jsonl, fsync: true, groupWaitMs: 600_000, now: () => new Date(clock++) });
    const nextTurn = () => new Promise((r) => setImmediate(r));
    const [a, b, c] = [l.expectGrouped(), l.expectGrouped(), l.expectGrouped()];
    seen.length = 0;
    let committed = false;
    const first = l.appendGrouped(input(1)).then((r) => ((committed = true), r));
    await nextTurn();
    const second = l.appendGrouped(input(2), a);
    await nextTurn();
    c.settle(); // a Sign refused before the device: no record will come
    c.settle(); // idempotent
    await nextTurn();
    await nextTurn();
    expect(committed).toBe(false);
    expect(seen.filter((x) => x.startsWith('BEGIN'))).toHaveLength(0);
    const third = l.appendGrouped(input(3), b);
    const records = await Promise.all([first, second, third]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(seen.filter((x) => x.startsWith('BEGIN'))).toHaveLength(1);
    expect(seen.filter((x) => x.startsWith('INSERT INTO audit_log'))).toHaveLength(3);
    // Nothing announced: the next record goes at once.
    expect((await l.appendGrouped(input(4))).seq).toBe(4);
  });

  it('a group waits for announced records at most groupWaitMs', async () => {
    const l = new SqliteAuditLog(db(), { jsonlPath: jsonl, fsync: true, groupWaitMs: 0, now: () => new Date(clock++) });
    const late = l.expectGrouped();
    expect((await l.appendGrouped(input(1))).seq).toBe(1);
    expect((await l.appendGrouped(input(2), late)).seq).toBe(2);
  });

  it('an announced record that does not validate is rejected on its own and no longer waited for', async () => {
    const l = new SqliteAuditLog(db(), { jsonlPath: jsonl, fsync: true, groupWaitMs: 600_000, now: () => new Date(clock++) });
    const bad = l.expectGrouped();
    const pending = l.appendGrouped(input(1));
    await expect(l.appendGrouped({ ...input(2), decision: 'maybe' as never }, bad)).rejects.toThrow(/decision must be one of/);
    expect((await pending).seq).toBe(1);
  });

  it('writes to the file the mirror path names now: a file moved away (rotated) between commits gets no more lines', async () => {
    const d = db();
    const l = log(d, { fsync: true });
    await l.appendGrouped(input(1));
    await l.append(input(2));
    renameSync(jsonl, `${jsonl}.1`);
    await Promise.all([3, 4].map((i) => l.appendGrouped(input(i))));
    renameSync(jsonl, `${jsonl}.2`);
    await l.append(input(5));
    l.close();
    await l.appendGrouped(input(6)); // opened again after close
    const seqs = (path: string) =>
      readFileSync(path, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as AuditRecord).seq);
    expect([seqs(`${jsonl}.1`), seqs(`${jsonl}.2`), seqs(jsonl)]).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(verifyAuditJsonl(d, jsonl)).toMatchObject({ ok: true, firstSeq: 5, lastSeq: 6 });
    expect(verifyAuditChain(d)).toMatchObject({ ok: true, count: 6 });
  });

  it('a flush that fails rejects every caller of its group; the committed records stay, and the log refuses every later write', async () => {
    const d = db();
    const l = log(d, { fsync: true });
    await l.appendGrouped(input(1));
    // SQLite keeps writing to its open write-ahead log, but the flush can no longer find it by name.
    rmSync(`${dbPath}-wal`);
    const results = await Promise.allSettled([2, 3].map((i) => l.appendGrouped(input(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/ENOENT/);
    expect(verifyAuditChain(d)).toMatchObject({ ok: true, count: 3 });
    await expect(l.appendGrouped(input(4))).rejects.toThrow(/records 2-3 were committed but could not be flushed to disk/);
    await expect(l.append(input(5))).rejects.toThrow(/could not be flushed/);
  });

  it('finds the write-ahead log of a database opened through a symbolic link', async () => {
    db().close();
    const link = join(dir, 'link.db');
    symlinkSync(dbPath, link);
    const d = openDb(link);
    open.push(d);
    const l = new SqliteAuditLog(d, { jsonlPath: jsonl, fsync: true });
    expect(await l.appendGrouped(input(1))).toMatchObject({ seq: 1 });
  });

  it('refuses a malformed input on its own; the rest of its turn is written', async () => {
    const l = log();
    const results = await Promise.allSettled([l.appendGrouped(input(1)), l.appendGrouped(input(2, { decision: 'maybe' as never })), l.appendGrouped(input(3))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/decision must be one of/);
    expect(readAuditTail(db(), 10).map((r) => [r.seq, r.requestId])).toEqual([
      [1, 'req-1'],
      [2, 'req-3'],
    ]);
  });
});

function existsLines(): number {
  try {
    return jsonlLines().length;
  } catch {
    return 0;
  }
}

describe('verify', () => {
  async function fill(n: number, l = log()): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for (let i = 1; i <= n; i++) out.push(await l.append(input(i, i % 3 === 0 ? { decision: 'deny', gate: 'policy', reason: 'rate_limit' } : {})));
    return out;
  }

  it('verifies a long chain, and the chain continues across a reopen', async () => {
    const first = await fill(2000);
    expect(verifyAuditChain(db())).toEqual({ ok: true, count: 2000, lastHash: first[1999]!.hash });
    for (const d of open.splice(0)) d.close();
    const reopened = log();
    expect(reopened.recovered).toEqual([]);
    const next = await reopened.append(input(2001));
    expect(next).toMatchObject({ seq: 2001, prevHash: first[1999]!.hash });
    expect(await reopened.verify()).toMatchObject({ ok: true, count: 2001, lastHash: next.hash });
    expect(await reopened.verifyMirror(jsonl)).toEqual({ ok: true, lines: 2001, firstSeq: 1, lastSeq: 2001 });
  });

  it('interleaves two writers on the same store (the server and a CLI) into one chain', async () => {
    const a = log(db());
    const b = log(db());
    for (let i = 0; i < 50; i++) await (i % 2 ? a : b).append(input(i));
    expect(verifyAuditChain(db())).toMatchObject({ ok: true, count: 50 });
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: true, lines: 50 });
  });

  it('names an edited record', async () => {
    await fill(10);
    const d = db();
    dropTriggers(d);
    d.prepare("UPDATE audit_log SET reason = 'allowed' WHERE seq = 6").run();
    expect(verifyAuditChain(d)).toEqual({ ok: false, count: 5, brokenAt: 6, reason: expect.stringContaining('does not match its contents') });
  });

  it('names the record after one whose hash was recomputed', async () => {
    await fill(10);
    const d = db();
    dropTriggers(d);
    const row = readAuditTail(d, 10)[2]!; // record 3, a deny
    const edited = { ...row, decision: 'accept' as const, reason: null, gate: null };
    const { hash: _old, ...rest } = edited;
    d.prepare('UPDATE audit_log SET decision = ?, reason = NULL, gate = NULL, hash = ? WHERE seq = ?').run('accept', auditRecordHash(rest), row.seq);
    expect(verifyAuditChain(d)).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringContaining('prev_hash of record 4') });
  });

  it('reports a deleted record as a gap', async () => {
    await fill(10);
    const d = db();
    dropTriggers(d);
    d.prepare('DELETE FROM audit_log WHERE seq = 4').run();
    expect(verifyAuditChain(d)).toEqual({ ok: false, count: 3, brokenAt: 4, reason: 'record 4 is missing (the next record is 5)' });
    d.prepare('DELETE FROM audit_log WHERE seq = 1').run();
    expect(verifyAuditChain(d)).toMatchObject({ ok: false, count: 0, brokenAt: 1 });
  });

  it('reports reordered records', async () => {
    await fill(10);
    const d = db();
    dropTriggers(d);
    // Swap records 3 and 4, renumbered so the seqs stay consecutive.
    d.exec('UPDATE audit_log SET seq = -3 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -3;');
    expect(verifyAuditChain(d)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('is refused by the triggers without dropping them first', async () => {
    await fill(2);
    expect(() => db().prepare("UPDATE audit_log SET reason = 'x'").run()).toThrow(/append-only/);
    expect(() => db().prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });
});

describe('the JSONL mirror', () => {
  async function fill(n: number): Promise<SqliteAuditLog> {
    const l = log();
    for (let i = 1; i <= n; i++) await l.append(input(i));
    return l;
  }

  it('names the first line that differs from the database', async () => {
    await fill(8);
    const lines = jsonlLines();
    lines[4] = lines[4]!.replace('"operation":"Sign"', '"operation":"Verify"');
    writeFileSync(jsonl, lines.join('\n') + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: false, line: 5, seq: 5, reason: "field operation differs from the database's record 5" });
  });

  it('reports a line removed from the middle, and lines removed from the end', async () => {
    await fill(8);
    const lines = jsonlLines();
    writeFileSync(jsonl, [...lines.slice(0, 3), ...lines.slice(4)].join('\n') + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, line: 4, seq: 5, reason: 'expected record 4, found 5' });
    writeFileSync(jsonl, lines.slice(0, 6).join('\n') + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, line: 7, seq: 7, reason: expect.stringContaining('database has records up to 8') });
  });

  it('reports a line that is not JSON, and a record the database does not have', async () => {
    await fill(3);
    appendFileSync(jsonl, 'garbage\n');
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, line: 4, reason: 'not a JSON audit record' });
  });

  it('tolerates a torn last line and an uncommitted last record, and removes them at the next start', async () => {
    const l = await fill(5);
    const good = readFileSync(jsonl);
    appendFileSync(jsonl, '{"seq":6,"at":17');
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 5, firstSeq: 1, lastSeq: 5, pendingTail: 'torn' });
    const restarted = log();
    expect(restarted.recovered).toEqual([expect.stringContaining('removed a torn last line')]);
    expect(readFileSync(jsonl)).toEqual(good);

    // A line written, then the process died before COMMIT: it chains onto the head but is not in SQLite.
    const head = readAuditTail(db(), 1)[0]!;
    const ghost = { ...head, seq: 6, requestId: 'lost', prevHash: head.hash };
    const { hash: _h, ...rest } = ghost;
    appendFileSync(jsonl, auditJsonLine({ ...ghost, hash: auditRecordHash(rest) }) + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 5, firstSeq: 1, lastSeq: 5, pendingTail: 'uncommitted' });
    const again = log();
    expect(again.recovered).toEqual([expect.stringContaining('removed record 6')]);
    expect((await again.append(input(6))).seq).toBe(6);
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 6, firstSeq: 1, lastSeq: 6 });
    void l;
  });

  it("tolerates a group commit's uncommitted lines (and a torn one after them), and removes them at the next start", async () => {
    await fill(5);
    const good = readFileSync(jsonl);
    // A group of three written, then the process died before COMMIT, in the middle of a fourth line.
    let prev = readAuditTail(db(), 1)[0]!;
    for (const seq of [6, 7, 8]) {
      const unhashed = { ...prev, seq, requestId: `lost-${seq}`, prevHash: prev.hash };
      const { hash: _h, ...rest } = unhashed;
      prev = { ...unhashed, hash: auditRecordHash(rest) };
      appendFileSync(jsonl, auditJsonLine(prev) + '\n');
    }
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 5, firstSeq: 1, lastSeq: 5, pendingTail: 'uncommitted' });
    appendFileSync(jsonl, '{"seq":9,"at":1');
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 5, firstSeq: 1, lastSeq: 5, pendingTail: 'torn' });
    const restarted = log();
    expect(restarted.recovered).toEqual([expect.stringContaining('removed a torn last line'), expect.stringContaining('removed records 6-8')]);
    expect(readFileSync(jsonl)).toEqual(good);
    expect((await restarted.append(input(6))).seq).toBe(6);
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 6, firstSeq: 1, lastSeq: 6 });
  });

  it('refuses uncommitted lines that do not chain onto the head, or more than one group holds', async () => {
    await fill(2);
    const head = readAuditTail(db(), 1)[0]!;
    const line = (seq: number, prevHash: string) => {
      const { hash: _h, ...rest } = { ...head, seq, requestId: `x-${seq}`, prevHash };
      return { ...rest, hash: auditRecordHash(rest) };
    };
    const a = line(3, head.hash);
    const b = line(4, 'f'.repeat(64)); // does not chain onto record 3
    appendFileSync(jsonl, auditJsonLine(a) + '\n' + auditJsonLine(b) + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, line: 4, seq: 4 });
    expect(() => log()).toThrow(AuditIntegrityError);
    const far = line(2 + MAX_GROUP_RECORDS + 1, head.hash);
    writeFileSync(jsonl, readFileSync(jsonl, 'utf8').split('\n').slice(0, 2).join('\n') + '\n' + auditJsonLine(far) + '\n');
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, line: 3 });
    expect(() => log()).toThrow(AuditIntegrityError);
  });

  it('fills a mirror that fell behind from the database, and starts a rotated one at the head', async () => {
    await fill(6);
    const lines = jsonlLines();
    writeFileSync(jsonl, lines.slice(0, 2).join('\n') + '\n');
    expect(log().recovered).toEqual([expect.stringContaining('copied records 3-6')]);
    expect(jsonlLines()).toEqual(lines);

    rmSync(jsonl); // rotated away
    const l = log();
    expect(jsonlLines()).toEqual([lines[5]]);
    await l.append(input(7));
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 2, firstSeq: 6, lastSeq: 7 });
  });

  it('refuses to start on a mirror that contradicts the database', async () => {
    await fill(4);
    const lines = jsonlLines();
    writeFileSync(jsonl, [...lines.slice(0, 3), lines[3]!.replace('req-4', 'req-X')].join('\n') + '\n');
    expect(() => log()).toThrow(AuditIntegrityError);
    writeFileSync(jsonl, 'not json\n');
    expect(() => log()).toThrow(/not JSON/);
  });

  it('handles a missing file and lines longer than the read buffer', async () => {
    expect(verifyAuditJsonl(db(), jsonl)).toEqual({ ok: true, lines: 0, firstSeq: null, lastSeq: null });
    const l = log();
    await l.append(input(1, { summary: { blob: 'x'.repeat(200_000) } }));
    await l.append(input(2));
    expect(log().recovered).toEqual([]);
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: true, lines: 2 });
    truncateSync(jsonl, 100_000); // torn in the middle of the long line
    expect(verifyAuditJsonl(db(), jsonl)).toMatchObject({ ok: false, reason: expect.stringContaining('missing') });
  });
});

describe('fsync', () => {
  it("works with fsync on (the default) and leaves the connection's synchronous setting as it was", async () => {
    const d = db();
    const before = d.pragma('synchronous', { simple: true });
    const l = new SqliteAuditLog(d, { jsonlPath: jsonl });
    await l.append(input(1));
    expect(d.pragma('synchronous', { simple: true })).toBe(before);
    expect(await l.verify()).toMatchObject({ ok: true, count: 1 });
  });
});
