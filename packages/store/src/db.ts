import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MIGRATIONS } from './schema';

export type Db = Database.Database;

/**
 * Where the data lives, resolved the same way by the server and the CLIs:
 * `$KMSGATE_DATA_DIR` (default `./data`, relative to the working directory), and
 * `$KMS_DB_PATH` overriding the database file itself.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KMSGATE_DATA_DIR || 'data');
}

export function resolveDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.KMS_DB_PATH ? resolve(env.KMS_DB_PATH) : resolve(resolveDataDir(env), 'kms.db');
}

/** Opens (creating if needed) the SQLite file and brings its schema up to date. */
export function openDb(path: string): Db {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  // Hashes and sealed secrets only, but still nobody else's business.
  if (path !== ':memory:') chmodSync(path, 0o600);
  // WAL lets the CLI write (generate/revoke) while the server reads, without either blocking.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
