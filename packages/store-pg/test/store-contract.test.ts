import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, openStore, readAuditRecords } from '@kmsgate/store';
import { storeContract } from '../../store/test/contract/suite';
import { PgApiKeyRepository, PgDeviceLogRepository, PgImportTokenRepository, PgKeyRepository, PgKeyRotationRepository, openPgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * The store contract (packages/store/test/contract/suite.ts) on a real PostgreSQL: two gateways on
 * one new database per case, each with its own pool and change feed polling as in production (so a
 * change made through one reaches the other within the feed's bound), sharing one credential.key.
 * The device-log rounds read their audit records from a real audit log, in SQLite until the
 * PostgreSQL audit log is in the bundle.
 */
let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

storeContract('PostgreSQL', {
  async open(now) {
    const url = await server.createDatabase();
    const sealKey = randomBytes(32);
    const auditDir = mkdtempSync(join(tmpdir(), 'kmsgate-contract-audit-'));
    const { db } = openStore({ KMSGATE_DATA_DIR: auditDir }, { create: true });
    const log = new AuditLog(db, { now });
    const records = { records: async (filter: Parameters<typeof readAuditRecords>[1]) => readAuditRecords(db, filter) };
    const gateway = async () => {
      const opened = await openPgGateState({ url });
      const keys = new PgKeyRepository(opened.pool, opened.feed, now);
      const apiKeys = new PgApiKeyRepository(opened.pool, opened.feed, sealKey, { now });
      const rotations = new PgKeyRotationRepository(opened.pool, opened.feed);
      const importTokens = new PgImportTokenRepository(opened.pool, opened.feed);
      const deviceLogs = new PgDeviceLogRepository(opened.pool, records);
      // The repositories joined a running feed: their views load with its next reading.
      await opened.feed.read();
      return {
        store: { keys, apiKeys, rotations, importTokens, deviceLogs, refresh: () => opened.feed.confirm().then(() => undefined) },
        pool: opened.pool,
        close: () => opened.close(),
      };
    };
    const [a, b] = [await gateway(), await gateway()];
    return {
      a: a.store,
      b: b.store,
      async audit(input) {
        log.append(input);
      },
      // Leases run on the database's clock: their stored expiry moves back instead.
      async leaseTimePasses(ms) {
        await a.pool.query('UPDATE hsm_witness_lease SET until = until - $1', [ms]);
      },
      async close() {
        await a.close();
        await b.close();
        db.close();
        rmSync(auditDir, { recursive: true, force: true });
      },
    };
  },
});
