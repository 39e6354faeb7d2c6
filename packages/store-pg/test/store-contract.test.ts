import { randomBytes } from 'node:crypto';
import { storeContract } from '../../store/test/contract/suite';
import {
  PgApiKeyRepository,
  PgAuditLog,
  PgAuditReader,
  PgDeviceLogRepository,
  PgImportTokenRepository,
  PgKeyRepository,
  PgKeyRotationRepository,
  openPgGateState,
} from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * The store contract (packages/store/test/contract/suite.ts) on a real PostgreSQL: two gateways on
 * one new database per case, each with its own pool and change feed polling as in production (so a
 * change made through one reaches the other within the feed's bound), sharing one credential.key.
 * The device-log rounds read their audit records from the shared audit chain (PgAuditLog), each
 * gateway through its own pool.
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
    const gateway = async () => {
      const opened = await openPgGateState({ url });
      const keys = new PgKeyRepository(opened.pool, opened.feed, now);
      const apiKeys = new PgApiKeyRepository(opened.pool, opened.feed, sealKey, { now });
      const rotations = new PgKeyRotationRepository(opened.pool, opened.feed);
      const importTokens = new PgImportTokenRepository(opened.pool, opened.feed);
      const deviceLogs = new PgDeviceLogRepository(opened.pool, new PgAuditReader(opened.pool));
      // The repositories joined a running feed: their views load with its next reading.
      await opened.feed.read();
      return {
        store: { keys, apiKeys, rotations, importTokens, deviceLogs, refresh: () => opened.feed.confirm().then(() => undefined) },
        pool: opened.pool,
        close: () => opened.close(),
      };
    };
    const [a, b] = [await gateway(), await gateway()];
    const log = await PgAuditLog.open(a.pool, { gateway: 'contract' });
    return {
      a: a.store,
      b: b.store,
      async audit(input) {
        await log.append(input);
      },
      // Leases run on the database's clock: their stored expiry moves back instead.
      async leaseTimePasses(ms) {
        await a.pool.query('UPDATE hsm_witness_lease SET until = until - $1', [ms]);
      },
      async close() {
        await log.close();
        await a.close();
        await b.close();
      },
    };
  },
});
