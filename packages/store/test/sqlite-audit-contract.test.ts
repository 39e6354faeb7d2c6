import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteGatewayStore } from '../src/sqlite-gateway-store';
import { openDb } from '../src/db';
import { auditContract } from './contract/audit-suite';

/** Two writers on one SQLite file (the server and a CLI): two connections to the data dir's kms.db, each with its own log and JSONL mirror path. */
auditContract('SQLite', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-audit-contract-'));
    const env = { KMSGATE_DATA_DIR: dir };
    const stores = [openSqliteGatewayStore(env, { create: true }), openSqliteGatewayStore(env)];
    const [a, b] = await Promise.all(stores.map((s) => s.openAudit({ jsonlPath: join(dir, 'audit.jsonl'), fsync: false })));
    return {
      a: a!,
      b: b!,
      async edit(seq, column, value) {
        // What an attacker with write access to kms.db does: drop the append-only triggers, then edit.
        const db = openDb(join(dir, 'kms.db'));
        try {
          db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
          db.prepare(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`).run(value, seq);
        } finally {
          db.close();
        }
      },
      async close() {
        for (const s of stores) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
