/**
 * Finding the store, the one way the server and every CLI command do it: `$KMSGATE_DATA_DIR`
 * (default `./data`) and `$KMS_DB_PATH` (default `<data dir>/kms.db`). A command run from the
 * wrong directory must not quietly create a second, empty store (and print an API key the server
 * never sees), nor write kmsgate's tables into someone else's database: `locateStore` refuses both
 * before anything is opened for writing, and creates a store only when asked to.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SEAL_KEY_FILE, loadOrCreateSealKey } from './credential-seal';
import { openDb, resolveDataDir, resolveDbPath, type Db } from './db';
import { MIGRATIONS } from './schema';

export interface StoreLocation {
  readonly dataDir: string;
  readonly dbPath: string;
}

/** A store that is missing (and was not to be created) or is not kmsgate's; the message is one line naming the path. */
export class StoreLocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreLocationError';
  }
}

/** Tables every kmsgate store has had since migration 1; a database without them is someone else's. */
const OWN_TABLES = ['keys', 'api_keys'] as const;

/**
 * Where the store is. Throws StoreLocationError when the database file does not exist (unless
 * `create`), when the data dir or the database path is not what it should be, or when the file
 * is not a kmsgate store (not SQLite, SQLite without kmsgate's schema, or a newer kmsgate's schema).
 * Reads only: nothing is created or changed.
 */
export function locateStore(env: NodeJS.ProcessEnv, { create = false }: { create?: boolean } = {}): StoreLocation {
  const dataDir = resolveDataDir(env);
  const dbPath = resolveDbPath(env);
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) throw new StoreLocationError(`the data dir ${dataDir} is not a directory`);
  if (!existsSync(dbPath)) {
    if (create) return { dataDir, dbPath };
    throw new StoreLocationError(`no kmsgate store at ${dbPath}: set KMSGATE_DATA_DIR (or KMS_DB_PATH) as for the server, or create one with \`kmsgate init\``);
  }
  if (!statSync(dbPath).isFile()) throw new StoreLocationError(`${dbPath} is not a file, so not a kmsgate store`);
  checkOwnSchema(dbPath, create);
  return { dataDir, dbPath };
}

/** `locateStore`, then the store opened (and migrated) for use. */
export function openStore(env: NodeJS.ProcessEnv, opts: { create?: boolean } = {}): { location: StoreLocation; db: Db } {
  const location = locateStore(env, opts);
  return { location, db: openDb(location.dbPath) };
}

function checkOwnSchema(dbPath: string, create: boolean): void {
  const header = readHeader(dbPath);
  // Anything else is never handed to SQLite, which would take a zero-length file for a new database.
  if (header.length > 0 && !SQLITE_MAGIC.equals(header.subarray(0, SQLITE_MAGIC.length))) {
    throw new StoreLocationError(`${dbPath} is not a kmsgate store (not an SQLite database)`);
  }
  // Not readonly: a read-only connection to a WAL database leaves -wal and -shm files behind, a
  // read-write one removes them on close; it writes nothing.
  let db: Database.Database;
  try {
    db = new Database(dbPath, { fileMustExist: true });
  } catch (e) {
    throw new StoreLocationError(`cannot open ${dbPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    if (version > MIGRATIONS.length) {
      throw new StoreLocationError(`${dbPath} was written by a newer kmsgate (schema version ${version}; this one knows up to ${MIGRATIONS.length})`);
    }
    // An empty database is what a first start interrupted before its first migration leaves behind.
    if (tables.size === 0 && version === 0) {
      if (create) return;
      throw new StoreLocationError(`${dbPath} is an empty SQLite database, not a kmsgate store yet: \`kmsgate init\` makes it one`);
    }
    if (version === 0 || OWN_TABLES.some((t) => !tables.has(t))) {
      throw new StoreLocationError(`${dbPath} is not a kmsgate store (an SQLite database without kmsgate's tables)`);
    }
  } catch (e) {
    if (e instanceof StoreLocationError) throw e;
    // SQLITE_NOTADB and kin: a file that starts like SQLite but is not one.
    throw new StoreLocationError(`${dbPath} is not a kmsgate store (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    db.close();
  }
}

/** The first 16 bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html#the_database_header). */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * The key that seals the store's SigV4 secrets (credential-seal.ts), created with the first API key.
 * When the store already holds live API keys their credential.key must be here: a new one could
 * unseal none of their secrets and would seal new ones under a key the other tools do not have
 * (a data dir restored without its credential.key, or KMS_DB_PATH set without KMSGATE_DATA_DIR).
 */
export function sealKeyForStore(db: Db, dataDir: string): Uint8Array {
  if (!existsSync(join(dataDir, SEAL_KEY_FILE))) {
    const { live } = db.prepare('SELECT count(*) AS live FROM api_keys WHERE revoked_at IS NULL').get() as { live: number };
    if (live > 0) {
      throw new StoreLocationError(
        `no ${SEAL_KEY_FILE} in ${dataDir}, but the store holds ${live} API key(s) whose SigV4 secrets are sealed under one: put it back, or set KMSGATE_DATA_DIR to the data dir that has it`,
      );
    }
  }
  return loadOrCreateSealKey(dataDir);
}
