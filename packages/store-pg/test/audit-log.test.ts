import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreUnavailableError } from '@kmsgate/policy';
import { AuditIntegrityError, auditJsonLine, type AuditInput } from '@kmsgate/store';
import pg from 'pg';
import { PgAuditLog, PgAuditReader, migrate } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';
import { TcpProxy } from './helpers/tcp-proxy';

/**
 * One audit chain for every gateway on a real PostgreSQL (issue 14 item 3): gateways appending at
 * once, a connection killed mid-transaction, the database unreachable, tampering, and each
 * gateway's JSONL mirror across crashes.
 */
const ROOT = join(__dirname, '..', '..', '..');
let server: TestServer;
let dir: string;
const pools: pg.Pool[] = [];
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-pg-audit-'));
});
afterEach(async () => {
  for (const p of pools.splice(0)) await p.end();
  rmSync(dir, { recursive: true, force: true });
});

/** A new database, migrated; `pool()` opens a pool of its own on it (one per gateway, as in production). */
async function database(): Promise<{ url: string; pool(): pg.Pool }> {
  const url = await server.createDatabase();
  const pool = () => {
    const p = new pg.Pool({ connectionString: url, application_name: 'kmsgate-audit-test' });
    pools.push(p);
    return p;
  };
  await migrate(pool());
  return { url, pool };
}

function input(i: number | string, extra: Partial<AuditInput> = {}): AuditInput {
  return { requestId: `req-${i}`, apiKeyId: 'ak_00000000000000aa', operation: 'Sign', keyId: 'k1', decision: 'accept', ...extra };
}

const mirrorOf = (gateway: string) => join(dir, `${gateway}.jsonl`);
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

test('two gateways appending 500 records each at once: one chain of exactly 1,000 records that verifies, batched per gateway', async () => {
  const db = await database();
  const [one, two] = await Promise.all(
    ['gw-one', 'gw-two'].map((gateway) => PgAuditLog.open(db.pool(), { gateway, jsonlPath: mirrorOf(gateway), fsync: false })),
  );
  const written = await Promise.all(
    Array.from({ length: 500 }, (_, i) => [one!.appendGrouped(input(`one-${i}`)), two!.appendGrouped(input(`two-${i}`))]).flat(),
  );
  expect(written.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  const chain = await new PgAuditReader(db.pool()).verify();
  expect(chain).toMatchObject({ ok: true, count: 1000 });
  for (const [log, name] of [
    [one!, 'gw-one'],
    [two!, 'gw-two'],
  ] as const) {
    expect(written.filter((r) => r.gateway === name)).toHaveLength(500);
    // The mirror holds exactly this gateway's records, in seq order, each the database's line.
    const own = written.filter((r) => r.gateway === name).sort((x, y) => x.seq - y.seq);
    expect(lines(mirrorOf(name))).toEqual(own.map(auditJsonLine));
    expect(await log.verifyMirror(mirrorOf(name))).toEqual({ ok: true, lines: 500, firstSeq: own[0]!.seq, lastSeq: own[499]!.seq });
  }
  // Group commit: each gateway's 500 records went in far fewer transactions than records.
  const { rows } = await db
    .pool()
    .query<{ gateway: string; transactions: number }>(
      'SELECT gateway, count(DISTINCT xmin::text)::int AS transactions FROM audit_log GROUP BY gateway ORDER BY gateway',
    );
  for (const r of rows) expect(r.transactions).toBeLessThan(250);
  await one!.close();
  await two!.close();
});

test('a connection killed mid-transaction (records inserted, not committed): the append rejects, the chain has no gap and goes on', async () => {
  const db = await database();
  const admin = db.pool();
  const log = await PgAuditLog.open(db.pool(), { gateway: 'gw', jsonlPath: mirrorOf('gw'), fsync: false });
  await log.append(input(1));
  // A test-only trigger holds the append after its INSERT, inside its transaction, while the test holds advisory lock 4242.
  await admin.query(`CREATE FUNCTION hold_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
    CREATE TRIGGER hold_append AFTER INSERT ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION hold_append()`);
  const holder = await admin.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock(4242)');
    const pending = log.appendGrouped(input(2));
    const outcome = pending.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    // Poll (no sleeps as timing) until the append waits on the lock, its rows inserted.
    let pid: number | undefined;
    while (pid === undefined) {
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'kmsgate-audit-test' AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO audit_log%'",
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const e = await outcome;
    expect(e).toBeInstanceOf(StoreUnavailableError);
    await holder.query('COMMIT');
  } finally {
    holder.release();
  }
  await admin.query('DROP TRIGGER hold_append ON audit_log');
  const reader = new PgAuditReader(admin);
  expect(await reader.verify()).toMatchObject({ ok: true, count: 1 });
  // The next append takes the next seq: no gap where the killed one was.
  expect((await log.append(input(3))).seq).toBe(2);
  expect(await reader.verify()).toMatchObject({ ok: true, count: 2 });
  expect(await log.verifyMirror(mirrorOf('gw'))).toEqual({ ok: true, lines: 2, firstSeq: 1, lastSeq: 2 });
  await log.close();
});

test('unreachable database: every append rejects with StoreUnavailableError, nothing is kept, and appends resume when it returns', async () => {
  const db = await database();
  const url = new URL(db.url);
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  url.port = String(proxy.port);
  const viaProxy = new pg.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 2_000 });
  pools.push(viaProxy);
  viaProxy.on('error', () => undefined);
  const log = await PgAuditLog.open(viaProxy, { gateway: 'gw' });
  await log.append(input(1));
  await proxy.cut();
  await expect(log.append(input(2))).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(log.appendGrouped(input(3))).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(log.verify()).rejects.toBeInstanceOf(StoreUnavailableError);
  const reader = new PgAuditReader(db.pool());
  expect(await reader.verify()).toMatchObject({ ok: true, count: 1 });
  await proxy.start();
  // Polling for the condition (the pool reconnects), not timing it.
  for (;;) {
    const r = await log.append(input(4)).then(
      (rec) => rec,
      () => undefined,
    );
    if (r) {
      expect(r.seq).toBe(2);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(await reader.verify()).toMatchObject({ ok: true, count: 2 });
  await proxy.cut();
});

test('tampering is found: an edited record or gateway, a deleted record, records removed from the end', async () => {
  const db = await database();
  const admin = db.pool();
  const log = await PgAuditLog.open(db.pool(), { gateway: 'gw' });
  for (let i = 1; i <= 6; i++) await log.append(input(i));
  const reader = new PgAuditReader(admin);
  expect(await reader.verify()).toMatchObject({ ok: true, count: 6 });
  // The triggers refuse changes until someone with the rights switches them off.
  await expect(admin.query("UPDATE audit_log SET reason = 'x' WHERE seq = 2")).rejects.toThrow(/append-only/);
  await expect(admin.query('DELETE FROM audit_log WHERE seq = 6')).rejects.toThrow(/append-only/);
  await expect(admin.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  await admin.query('ALTER TABLE audit_log DISABLE TRIGGER USER');

  await admin.query("UPDATE audit_log SET gateway = 'someone-else' WHERE seq = 3");
  expect(await reader.verify()).toMatchObject({ ok: false, brokenAt: 3, reason: 'hash of record 3 does not match its contents (the record was edited)' });
  await admin.query("UPDATE audit_log SET gateway = 'gw' WHERE seq = 3");

  await admin.query('DELETE FROM audit_log WHERE seq = 6');
  expect(await reader.verify()).toMatchObject({
    ok: false,
    brokenAt: 6,
    reason: 'record 6 is missing: the chain ends at record 5, but its head says 6 (records removed from the end)',
  });
  await admin.query('DELETE FROM audit_log WHERE seq = 4');
  expect(await reader.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: 'record 4 is missing (the next record is 5)' });
  await log.close();
});

test("a gateway's mirror: a line lost or torn by a crash after the commit is copied from the database at the next start; a contradicting one is refused", async () => {
  const db = await database();
  const path = mirrorOf('gw');
  let log = await PgAuditLog.open(db.pool(), { gateway: 'gw', jsonlPath: path });
  const other = await PgAuditLog.open(db.pool(), { gateway: 'other' });
  for (let i = 1; i <= 4; i++) {
    await log.append(input(i));
    await other.append(input(`o${i}`));
  }
  const full = readFileSync(path);
  const all = lines(path);
  expect(all.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 3, 5, 7]);

  // Committed, then the gateway died before its line was written: the verifier says so, the next start copies it.
  writeFileSync(path, all.slice(0, 3).join('\n') + '\n');
  expect(await log.verifyMirror(path)).toEqual({ ok: true, lines: 3, firstSeq: 1, lastSeq: 5, pendingTail: 'unmirrored' });
  log = await PgAuditLog.open(db.pool(), { gateway: 'gw', jsonlPath: path });
  expect(log.recovered).toEqual([expect.stringContaining('copied 1 record(s) of gw (7-7)')]);
  expect(readFileSync(path)).toEqual(full);

  // Torn mid-write: cut off, then copied again.
  truncateSync(path, full.length - 10);
  expect(await log.verifyMirror(path)).toMatchObject({ ok: true, pendingTail: 'torn' });
  log = await PgAuditLog.open(db.pool(), { gateway: 'gw', jsonlPath: path });
  expect(log.recovered).toEqual([expect.stringContaining('removed a torn last line'), expect.stringContaining('copied 1 record(s)')]);
  expect(readFileSync(path)).toEqual(full);
  expect((await log.append(input(5))).seq).toBe(9);
  expect(await log.verifyMirror(path)).toEqual({ ok: true, lines: 5, firstSeq: 1, lastSeq: 9 });

  // A line removed from the middle, an edited line, another gateway's line: named by the verifier.
  const now = lines(path);
  writeFileSync(path, [now[0], now[2], now[3], now[4]].join('\n') + '\n');
  expect(await log.verifyMirror(path)).toMatchObject({ ok: false, line: 2, seq: 3, reason: 'record 3 of gw is missing before this line' });
  writeFileSync(path, [now[0], now[1]!.replace('"req-2"', '"req-X"'), ...now.slice(2)].join('\n') + '\n');
  expect(await log.verifyMirror(path)).toMatchObject({ ok: false, line: 2, reason: "field requestId differs from the database's record 3" });
  const foreign = auditJsonLine((await other.record(2))!);
  writeFileSync(path, [now[0], foreign, ...now.slice(1)].join('\n') + '\n');
  expect(await log.verifyMirror(path)).toMatchObject({ ok: false, line: 2, seq: 2, reason: 'record 2 was written by other, not by gw as the lines before it' });

  // A last line that is not the database's: refused at start.
  writeFileSync(path, now.join('\n') + '\n');
  appendFileSync(path, now[4]!.replace('"req-5"', '"req-Y"') + '\n');
  await expect(PgAuditLog.open(db.pool(), { gateway: 'gw', jsonlPath: path })).rejects.toBeInstanceOf(AuditIntegrityError);
  await log.close();
  await other.close();
});

test("the whole chain, exported as JSONL (audit tail --json), passes docs/audit.md's Python verifier, gateways and all (when python3 is installed)", async () => {
  const db = await database();
  const [one, two] = await Promise.all(['gw-one', 'gw-two'].map((gateway) => PgAuditLog.open(db.pool(), { gateway })));
  await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one! : two!).appendGrouped(input(i, { summary: { i, note: 'é ✓ \u0001' } }))));
  const script = /```python\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'docs', 'audit.md'), 'utf8'))?.[1];
  expect(script).toBeDefined();
  if (spawnSync('python3', ['--version']).status !== 0) return;
  const exported = join(dir, 'chain.jsonl');
  writeFileSync(exported, (await one!.tail(20)).map((r) => auditJsonLine(r) + '\n').join(''));
  writeFileSync(join(dir, 'verify.py'), script!);
  const ok = spawnSync('python3', [join(dir, 'verify.py'), exported], { encoding: 'utf8' });
  expect(ok.stdout).toContain('OK: 20 records');
  const forged = readFileSync(exported, 'utf8').replace('"gateway":"gw-one"', '"gateway":"gw-two"');
  writeFileSync(exported, forged);
  const bad = spawnSync('python3', [join(dir, 'verify.py'), exported], { encoding: 'utf8' });
  expect(bad.status).toBe(1);
  expect(bad.stdout).toMatch(/BROKEN at record \d+: hash does not match the record/);
});

test('without a configured name, two gateways on one host (two data dirs) get names of their own, kept across a restart', async () => {
  const db = await database();
  const [dirA, dirB] = [join(dir, 'a'), join(dir, 'b')];
  const a = await PgAuditLog.open(db.pool(), { jsonlPath: join(dirA, 'audit.jsonl') });
  const b = await PgAuditLog.open(db.pool(), { jsonlPath: join(dirB, 'audit.jsonl') });
  expect(a.gateway).not.toBe(b.gateway);
  await a.append(input(1));
  await b.append(input(2));
  const again = await PgAuditLog.open(db.pool(), { jsonlPath: join(dirA, 'audit.jsonl') });
  expect(again.gateway).toBe(a.gateway);
  expect(again.recovered).toEqual([]);
  expect(await again.verifyMirror(join(dirA, 'audit.jsonl'))).toEqual({ ok: true, lines: 1, firstSeq: 1, lastSeq: 1 });
});

test('a gateway renamed (audit.gatewayName) over a mirror of its old name: refused at open, saying to move the mirror aside; then it starts a new one', async () => {
  const db = await database();
  const mirror = join(dir, 'audit.jsonl');
  const before = await PgAuditLog.open(db.pool(), { jsonlPath: mirror });
  await before.append(input(1));
  await before.close();
  const refusal = PgAuditLog.open(db.pool(), { gateway: 'eu-1', jsonlPath: mirror });
  await expect(refusal).rejects.toBeInstanceOf(AuditIntegrityError);
  await expect(refusal).rejects.toThrow(`${mirror} holds the records of gateway ${before.gateway}, and this gateway is named eu-1 (audit.gatewayName)`);
  expect(lines(mirror)).toHaveLength(1);
  renameSync(mirror, `${mirror}.old`);
  const renamed = await PgAuditLog.open(db.pool(), { gateway: 'eu-1', jsonlPath: mirror });
  await renamed.append(input(2));
  expect(await renamed.verifyMirror(mirror)).toEqual({ ok: true, lines: 1, firstSeq: 2, lastSeq: 2 });
  expect(await renamed.verifyMirror(`${mirror}.old`)).toEqual({ ok: true, lines: 1, firstSeq: 1, lastSeq: 1 });
  await renamed.close();
});
