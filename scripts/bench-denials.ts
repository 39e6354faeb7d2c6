/**
 * `npm run bench`, part 3: denial records under a flood of refused requests (issue 14). BENCH_DENIALS
 * denial records written by BENCH_DENIAL_CONCURRENCY concurrent callers, as the gateway writes them
 * for refused Signs (recordDenial: the group commit, one transaction and one flush for the records
 * that arrive together) and, as the baseline in the same run, one by one (one transaction each; on
 * PostgreSQL each waits for the chain head's row lock). The two alternate in rounds on the same log,
 * so drift and noise fall on both alike. SQLite in a fresh data dir with fsync on (the default);
 * PostgreSQL in a fresh database when KMSGATE_TEST_PG_URL is set, skipped with a line otherwise.
 * Printed: denials per second each way and the ratio.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteAuditLog, openDb, type AuditLog } from '@kmsgate/store';
import { PgAuditLog, migrate } from '@kmsgate/store-pg';
import { recordDenial, writeRecord } from '../apps/server/src/audit-records';
import { createMetrics } from '../apps/server/src/metrics';

const DENIALS = Number(process.env.BENCH_DENIALS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_DENIAL_CONCURRENCY ?? 64);
const ROUNDS = 4;
const WARMUP = 200;

interface Row {
  store: string;
  grouped: number;
  oneByOne: number;
}

/** Seconds for `n` calls of `op`, `concurrency` of them outstanding at any time. */
async function timed(n: number, op: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        await op();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function compare(store: string, log: AuditLog): Promise<Row> {
  const metrics = createMetrics();
  const denial = () => ({ requestId: randomUUID(), operation: 'Sign', gate: 'policy' as const, reason: 'KILL_SWITCH', apiKeyId: 'ak_bench' });
  const grouped = () => recordDenial(log, metrics, denial());
  const oneByOne = () => writeRecord(log, { ...denial(), decision: 'deny' });
  await timed(WARMUP, grouped);
  await timed(WARMUP, oneByOne);
  const per = Math.ceil(DENIALS / ROUNDS);
  const seconds = { grouped: 0, oneByOne: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    seconds.grouped += await timed(per, grouped);
    seconds.oneByOne += await timed(per, oneByOne);
  }
  const verified = await log.verify();
  if (!verified.ok) throw new Error(`the ${store} chain does not verify after the benchmark: ${verified.reason}`);
  return { store, grouped: (per * ROUNDS) / seconds.grouped, oneByOne: (per * ROUNDS) / seconds.oneByOne };
}

async function sqlite(): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-denials-'));
  const db = openDb(join(dir, 'kms.db'));
  const log = new SqliteAuditLog(db, { jsonlPath: join(dir, 'audit.jsonl'), fsync: true });
  try {
    return await compare('SQLite (fsync on)', log);
  } finally {
    await log.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(adminUrl: string): Promise<Row> {
  const name = `kmsgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
  try {
    await migrate(pool);
    const log = await PgAuditLog.open(pool, { gateway: 'bench' });
    try {
      return await compare('PostgreSQL', log);
    } finally {
      await log.close();
    }
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const load = loadavg();
  const rows = [await sqlite()];
  const pgUrl = process.env.KMSGATE_TEST_PG_URL;
  const skipped = pgUrl ? undefined : 'PostgreSQL: skipped (set KMSGATE_TEST_PG_URL to a role that may CREATE DATABASE to measure it)';
  if (pgUrl) rows.push(await postgres(pgUrl));
  const fmt = (n: number, d = 0) => n.toFixed(d);
  console.log(
    `\nDenial records, ${ROUNDS * Math.ceil(DENIALS / ROUNDS)} per way, ${CONCURRENCY} concurrent, alternating rounds (load average ${load.map((l) => l.toFixed(1)).join(' ')} at start)`,
  );
  console.log('| store | group commit (the gateway) denials/s | one by one denials/s | × one by one |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.store} | ${fmt(r.grouped)} | ${fmt(r.oneByOne)} | ${fmt(r.grouped / r.oneByOne, 1)} |`);
  if (skipped) console.log(skipped);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
