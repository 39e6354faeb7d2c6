import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEAL_KEY_FILE } from '@kmsgate/store';
import pg from 'pg';
import { storeContract } from '../../store/test/contract/suite';
import { openPgGatewayStore } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * The store contract (packages/store/test/contract/suite.ts) on a real PostgreSQL: two gateways'
 * bundles (openPgGatewayStore) on one new database per case, each with its own pool, change feed
 * polling as in production (so a change made through one reaches the other within the feed's
 * bound) and data dir, holding the same credential.key. The device-log rounds read the records of
 * the shared audit log that `audit` appends to through gateway a.
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
    const dirs = ['a', 'b'].map((name) => {
      const dir = mkdtempSync(join(tmpdir(), `kmsgate-pg-contract-${name}-`));
      writeFileSync(join(dir, SEAL_KEY_FILE), sealKey, { mode: 0o600 });
      return dir;
    });
    const [a, b] = [await openPgGatewayStore(url, { dataDir: dirs[0]!, now, create: true }), await openPgGatewayStore(url, { dataDir: dirs[1]!, now })];
    const log = await a!.openAudit({ gateway: 'a' });
    const direct = new pg.Pool({ connectionString: url });
    return {
      a: a!,
      b: b!,
      async audit(input) {
        await log.append(input);
      },
      // Leases run on the database's clock: their stored expiry moves back instead.
      async leaseTimePasses(ms) {
        await direct.query('UPDATE hsm_witness_lease SET until = until - $1', [ms]);
      },
      async close() {
        await log.close();
        await a!.close();
        await b!.close();
        await direct.end();
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
