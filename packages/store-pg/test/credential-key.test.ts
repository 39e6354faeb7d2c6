import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEAL_KEY_FILE, StoreLocationError } from '@kmsgate/store';
import pg from 'pg';
import { PgApiKeyRepository, openPgGateState, sealKeyForPg, type PgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * Every gateway on one database must hold the same credential.key (docs/scale-out.md): one whose key
 * cannot open the SigV4 secrets already there, or that has none beside a database with live keys,
 * refuses to start, writing nothing (no file, no row).
 */
let server: TestServer;
let dirs: string[] = [];
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kmsgate-pg-credkey-'));
  dirs.push(d);
  return d;
}

/** A database on which a first gateway (data dir `first`) generated one API key. */
async function databaseWithKey(first: string): Promise<{ url: string; opened: PgGateState }> {
  const url = await server.createDatabase();
  const opened = await openPgGateState({ url });
  const apiKeys = new PgApiKeyRepository(opened.pool, opened.feed, await sealKeyForPg(opened.pool, first));
  await apiKeys.generate({ label: 'ops', role: 'admin' });
  return { url, opened };
}

async function snapshot(pool: pg.Pool): Promise<unknown> {
  const keys = await pool.query('SELECT * FROM api_keys ORDER BY id');
  const version = await pool.query('SELECT n FROM change_version');
  return { keys: keys.rows, version: version.rows };
}

test('a fresh database: the first gateway creates credential.key (0600); one holding a copy opens every secret', async () => {
  const first = dataDir();
  const { opened } = await databaseWithKey(first);
  try {
    expect(statSync(join(first, SEAL_KEY_FILE)).mode & 0o777).toBe(0o600);
    const second = dataDir();
    writeFileSync(join(second, SEAL_KEY_FILE), readFileSync(join(first, SEAL_KEY_FILE)));
    chmodSync(join(second, SEAL_KEY_FILE), 0o600);
    expect(Buffer.from(await sealKeyForPg(opened.pool, second))).toEqual(readFileSync(join(first, SEAL_KEY_FILE)));
  } finally {
    await opened.close();
  }
});

test('a credential.key that cannot open the secrets in the database: refused as a configuration error naming it, nothing written', async () => {
  const { opened } = await databaseWithKey(dataDir());
  try {
    const other = dataDir();
    const wrong = randomBytes(32);
    writeFileSync(join(other, SEAL_KEY_FILE), wrong, { mode: 0o600 });
    const before = await snapshot(opened.pool);
    const refusal = sealKeyForPg(opened.pool, other);
    await expect(refusal).rejects.toBeInstanceOf(StoreLocationError);
    await expect(refusal).rejects.toThrow(`${join(other, SEAL_KEY_FILE)} cannot open the SigV4 secrets of 1 of the 1 live API key(s) in the shared database`);
    await expect(refusal).rejects.toThrow('every gateway on one database must hold the same credential.key');
    expect(readFileSync(join(other, SEAL_KEY_FILE))).toEqual(wrong);
    expect(readdirSync(other)).toEqual([SEAL_KEY_FILE]);
    expect(await snapshot(opened.pool)).toEqual(before);
  } finally {
    await opened.close();
  }
});

test('no credential.key beside a database with live API keys: refused, and no new credential.key is created', async () => {
  const { opened } = await databaseWithKey(dataDir());
  try {
    const empty = dataDir();
    const before = await snapshot(opened.pool);
    const refusal = sealKeyForPg(opened.pool, empty);
    await expect(refusal).rejects.toBeInstanceOf(StoreLocationError);
    await expect(refusal).rejects.toThrow(`no ${SEAL_KEY_FILE} in ${empty}, but the shared database holds 1 live API key(s)`);
    expect(existsSync(join(empty, SEAL_KEY_FILE))).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
    expect(await snapshot(opened.pool)).toEqual(before);
  } finally {
    await opened.close();
  }
});
