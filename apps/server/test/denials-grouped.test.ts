import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKmsError } from '@kmsgate/core';
import { SqliteAuditLog, openDb, type AuditLog, type AuditReader } from '@kmsgate/store';
import { PgAuditLog, migrate } from '@kmsgate/store-pg';
import pg from 'pg';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { recordDenial } from '../src/audit-records';
import { AuthRefusals } from '../src/auth/refusals';
import { createLogger } from '../src/log';
import { createMetrics } from '../src/metrics';

/**
 * Denials go through the group commit, as accepts do (docs/audit.md): the denials handed in
 * together are one transaction, so a flood of refused requests costs one durable write per group,
 * not one (and on PostgreSQL one wait for the chain head's row lock) per request. Shown on both
 * stores with a record the database refuses (a trigger on `reason = 'Unwritable'`): every request
 * of its group is refused with KMSInternalException and none of its records is kept (written one
 * by one, the others would have been), the next group is written, and the chain verifies.
 */
interface Store {
  log: AuditLog;
  reader: AuditReader;
  /** From now on the database refuses records with reason 'Unwritable' (on: true) or takes them again. */
  unwritable(on: boolean): Promise<void>;
  close(): Promise<void>;
}

let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
});

const stores: Record<'SQLite' | 'PostgreSQL', () => Promise<Store>> = {
  async SQLite() {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-denials-'));
    const db = openDb(join(dir, 'kms.db'));
    const log = new SqliteAuditLog(db, { jsonlPath: join(dir, 'audit.jsonl'), fsync: false });
    return {
      log,
      reader: log,
      async unwritable(on) {
        db.exec(
          on
            ? "CREATE TRIGGER unwritable BEFORE INSERT ON audit_log WHEN NEW.reason = 'Unwritable' BEGIN SELECT RAISE(ABORT, 'unwritable record'); END"
            : 'DROP TRIGGER unwritable',
        );
      },
      async close() {
        await log.close();
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async PostgreSQL() {
    server ??= await testServer();
    const pool = new pg.Pool({ connectionString: await server.createDatabase() });
    await migrate(pool);
    const log = await PgAuditLog.open(pool, { gateway: 'gw-denials' });
    return {
      log,
      reader: log,
      async unwritable(on) {
        await pool.query(
          on
            ? `CREATE FUNCTION unwritable() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN IF NEW.reason = 'Unwritable' THEN RAISE EXCEPTION 'unwritable record'; END IF; RETURN NEW; END $$;
               CREATE TRIGGER unwritable BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION unwritable();`
            : 'DROP TRIGGER unwritable ON audit_log; DROP FUNCTION unwritable();',
        );
      },
      async close() {
        await log.close();
        await pool.end();
      },
    };
  },
};

/** What each of `pending` came to: 'written', or the __type it was refused with. */
async function outcomes(pending: Promise<unknown>[]): Promise<string[]> {
  return (await Promise.allSettled(pending)).map((r) => (r.status === 'fulfilled' ? 'written' : isKmsError(r.reason) ? r.reason.type : String(r.reason)));
}

describe.each(['SQLite', 'PostgreSQL'] as const)('%s', (kind) => {
  let s: Store;
  beforeEach(async () => {
    s = await stores[kind]();
  });
  afterEach(async () => {
    await s.close();
  });

  test('denials handed in together are one group: one unwritable record refuses every request of the group and keeps none; the next group is written, in order, and the chain verifies', async () => {
    const metrics = createMetrics();
    await recordDenial(s.log, metrics, { requestId: 'before', operation: 'Sign', gate: 'policy', reason: 'KILL_SWITCH' });
    await s.unwritable(true);
    const group = Array.from({ length: 10 }, (_, i) =>
      recordDenial(s.log, metrics, { requestId: `g1-${i}`, operation: 'Sign', gate: 'policy', reason: i === 4 ? 'Unwritable' : 'KILL_SWITCH' }),
    );
    expect(await outcomes(group)).toEqual(Array(10).fill('KMSInternalException'));
    expect((await s.reader.records({ afterSeq: 0 })).map((r) => r.requestId)).toEqual(['before']);

    await s.unwritable(false);
    const next = Array.from({ length: 10 }, (_, i) =>
      recordDenial(s.log, metrics, { requestId: `g2-${i}`, operation: 'Sign', gate: 'auth', reason: 'AccessDeniedException' }),
    );
    expect(await outcomes(next)).toEqual(Array(10).fill('written'));
    const records = await s.reader.records({ afterSeq: 0 });
    expect(records.map((r) => [r.seq, r.requestId, r.decision])).toEqual([
      [1, 'before', 'deny'],
      ...Array.from({ length: 10 }, (_, i) => [i + 2, `g2-${i}`, 'deny']),
    ]);
    expect(await s.reader.verify()).toMatchObject({ ok: true, count: 11 });
  });

  test("the aggregated auth refusals of one flush are one group: an unwritable one fails the flush's records together (each logged), the next flush writes them all", async () => {
    const logged: string[] = [];
    const now = () => new Date(Date.UTC(2026, 0, 1));
    const refusals = new AuthRefusals(s.log, createMetrics(), createLogger({ level: 'error', sink: (l) => logged.push(l) }), {
      intervalMs: 60_000,
      maxEntries: 100,
      now,
    });
    await s.unwritable(true);
    for (let i = 0; i < 5; i++)
      refusals.record({ source: `198.51.100.${i}`, operation: 'Sign', reason: i === 2 ? 'Unwritable' : 'UnrecognizedClientException' });
    expect(await refusals.flush()).toBe(0);
    expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(Array(5).fill('aggregated auth refusals could not be audited'));
    expect(await s.reader.records({ afterSeq: 0 })).toEqual([]);

    await s.unwritable(false);
    for (let i = 0; i < 5; i++) refusals.record({ source: `198.51.100.${i}`, operation: 'Sign', reason: 'UnrecognizedClientException' });
    expect(await refusals.flush()).toBe(5);
    const records = await s.reader.records({ afterSeq: 0 });
    expect(records.map((r) => [r.operation, r.decision, r.gate, (JSON.parse(r.summary!) as { source: string }).source])).toEqual(
      Array.from({ length: 5 }, (_, i) => ['*', 'deny', 'auth', `198.51.100.${i}`]),
    );
    expect(await s.reader.verify()).toMatchObject({ ok: true, count: 5 });
  });
});
