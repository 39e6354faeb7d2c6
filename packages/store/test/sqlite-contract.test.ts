import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteGatewayStore } from '../src/sqlite-gateway-store';
import { storeContract } from './contract/suite';

/** Two gateways on one SQLite file: two connections to the data dir's kms.db, as two processes open it. */
storeContract('SQLite', {
  async open(now) {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-contract-'));
    const env = { KMSGATE_DATA_DIR: dir };
    const a = openSqliteGatewayStore(env, { create: true, now });
    const b = openSqliteGatewayStore(env, { now });
    const log = await a.openAudit({ now });
    return {
      a,
      b,
      async audit(input) {
        await log.append(input);
      },
      // Leases run on the stores' clock, `now`, which the suite moves itself.
      async leaseTimePasses() {},
      async close() {
        await a.close();
        await b.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
