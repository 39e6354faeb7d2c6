import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { auditContract } from '../../store/test/contract/audit-suite';
import { PgAuditLog, migrate } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * The audit log contract (packages/store/test/contract/audit-suite.ts) on a real PostgreSQL: two
 * gateways on one new database per case, each with its own pool, name and mirror.
 */
let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

auditContract('PostgreSQL', {
  async open() {
    const url = await server.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-pg-audit-contract-'));
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    await migrate(pools[0]!);
    const [a, b] = await Promise.all(
      pools.map((pool, i) => PgAuditLog.open(pool, { gateway: `gw-${i}`, jsonlPath: join(dir, `gw-${i}.jsonl`), fsync: false })),
    );
    return {
      a: a!,
      b: b!,
      async edit(seq, column, value) {
        // What someone with write access to the database does: switch the append-only trigger off, then edit.
        await pools[0]!.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change');
        await pools[0]!.query(`UPDATE audit_log SET ${column} = $1 WHERE seq = $2`, [value, seq]);
      },
      async close() {
        for (const p of pools) await p.end();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
