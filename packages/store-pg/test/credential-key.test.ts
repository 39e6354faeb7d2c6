import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEAL_KEY_FILE, StoreLocationError, loadOrCreateSealKey, type GatewayStore } from '@kmsgate/store';
import pg from 'pg';
import { ChangeFeed, MIGRATIONS, PgApiKeyRepository, migrate, openPgGatewayStore, sealKeyForPg } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * Every gateway on one database must hold the same credential.key (docs/scale-out.md), and the
 * database records which (a check value, migration 6), written by whoever creates the first one
 * under a lock: concurrent first starts on an empty database end with one credential.key, every
 * other start refused; a gateway with another key, or none, is refused with nothing written (no
 * file, no row), whether or not an API key exists yet.
 */
let server: TestServer;
let dirs: string[] = [];
const pools: pg.Pool[] = [];
const stores: GatewayStore[] = [];
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const p of pools.splice(0)) await p.end();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function dataDir(key?: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), 'kmsgate-pg-credkey-'));
  dirs.push(d);
  if (key) writeFileSync(join(d, SEAL_KEY_FILE), key, { mode: 0o600 });
  return d;
}

function poolOn(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(p);
  return p;
}

async function open(url: string, dir: string, create = true): Promise<GatewayStore> {
  const s = await openPgGatewayStore(url, { dataDir: dir, create, maxConnections: 2 });
  stores.push(s);
  return s;
}

/** What the database records, and the API keys: a refusal must leave both as they were. */
async function snapshot(pool: pg.Pool): Promise<unknown> {
  const check = await pool.query('SELECT * FROM credential_key_check');
  const keys = await pool.query('SELECT * FROM api_keys ORDER BY id');
  return { check: check.rows, keys: keys.rows };
}

async function recordedCheck(pool: pg.Pool): Promise<Buffer[]> {
  return (await pool.query<{ check_value: Buffer }>('SELECT check_value FROM credential_key_check')).rows.map((r) => r.check_value);
}

test('the first start on an empty database creates credential.key (0600) and records its check value, never the key; a copy of it matches', async () => {
  const url = await server.createDatabase();
  const first = dataDir();
  const a = await open(url, first);
  await a.apiKeys.generate({ label: 'ops', role: 'admin' });
  const key = readFileSync(join(first, SEAL_KEY_FILE));
  expect(statSync(join(first, SEAL_KEY_FILE)).mode & 0o777).toBe(0o600);
  const pool = poolOn(url);
  const [check] = await recordedCheck(pool);
  expect(check).toEqual(createHmac('sha256', key).update('kmsgate credential.key check v1').digest());
  expect(check!.includes(key)).toBe(false);

  const copy = dataDir(key);
  expect(await sealKeyForPg(pool, copy)).toMatchObject({ outcome: 'matched', path: join(copy, SEAL_KEY_FILE) });
  expect(await recordedCheck(pool)).toEqual([check]);
});

/**
 * `n` gateways' first starts at once on one database without a record, each with a data dir of its
 * own; exactly one may win. With `overlap`, the schema is there first and a third connection holds
 * a SHARE lock on credential_key_check (which an INSERT waits for, a SELECT does not) until all `n`
 * wait on a lock: without the starts' advisory lock each would have read "no record" and made a key
 * file by then, so the test fails deterministically if that lock is removed.
 */
async function race(n: number, { overlap }: { overlap: boolean }): Promise<void> {
  const url = await server.createDatabase();
  const pool = poolOn(url);
  const holder = overlap ? await pool.connect() : undefined;
  try {
    if (holder) {
      await migrate(pool);
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE credential_key_check IN SHARE MODE');
    }
    const starting = Array.from({ length: n }, () => dataDir());
    const settled = Promise.allSettled(starting.map((d) => open(url, d)));
    if (holder) {
      const waiting = 'SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())';
      while (Number((await pool.query<{ n: string }>(waiting)).rows[0]!.n) < n);
      await holder.query('COMMIT');
    }
    const results = await settled;
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [starting[i]!] : []));
    expect(won).toHaveLength(1);
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      expect(r.reason).toBeInstanceOf(StoreLocationError);
      expect((r.reason as Error).message).toBe(
        `no ${SEAL_KEY_FILE} in ${starting[i]}, but database ${JSON.stringify(new URL(url).pathname.slice(1))} records the one its gateways hold: ` +
          `copy ${SEAL_KEY_FILE} (mode 0600) from a gateway already on this database: every gateway on one database must hold the same ${SEAL_KEY_FILE}`,
      );
    }
    // One file in all the data dirs, the one the database records.
    expect(starting.filter((d) => existsSync(join(d, SEAL_KEY_FILE)))).toEqual(won);
    const winner = readFileSync(join(won[0]!, SEAL_KEY_FILE));
    expect(await recordedCheck(pool)).toEqual([createHmac('sha256', winner).update('kmsgate credential.key check v1').digest()]);
    // A refused one starts once it holds a copy, and opens the winner's secrets.
    const generated = await stores[0]!.apiKeys.generate({ label: 'ops', role: 'signer' });
    const late = starting.find((d) => d !== won[0])!;
    writeFileSync(join(late, SEAL_KEY_FILE), winner, { mode: 0o600 });
    const other = await open(url, late);
    await other.refresh();
    expect(other.apiKeys.findSigV4Secret(generated.accessKeyId)?.secretAccessKey).toBe(generated.secretAccessKey);
  } finally {
    holder?.release();
  }
}

describe.each([2, 10])('%i gateways starting at once on one database that records no credential.key', (n) => {
  test('on an empty database: exactly one credential.key wins; every other start is refused, with no file of its own', async () => {
    await race(n, { overlap: false });
  });
  test('all of them past migrating and checking before any records: still exactly one wins', async () => {
    await race(n, { overlap: true });
  });
});

test('a credential.key other than the one the database records is refused, even before any API key exists: naming the file, nothing written', async () => {
  const url = await server.createDatabase();
  await open(url, dataDir());
  const pool = poolOn(url);
  const other = dataDir();
  const wrong = randomBytes(32);
  writeFileSync(join(other, SEAL_KEY_FILE), wrong, { mode: 0o600 });
  const before = await snapshot(pool);
  for (const create of [true, false]) {
    const refusal = openPgGatewayStore(url, { dataDir: other, create });
    await expect(refusal).rejects.toBeInstanceOf(StoreLocationError);
    await expect(refusal).rejects.toThrow(`${join(other, SEAL_KEY_FILE)} is not the ${SEAL_KEY_FILE} database `);
    await expect(refusal).rejects.toThrow('every gateway on one database must hold the same credential.key');
  }
  expect(readFileSync(join(other, SEAL_KEY_FILE))).toEqual(wrong);
  expect(readdirSync(other)).toEqual([SEAL_KEY_FILE]);
  expect(await snapshot(pool)).toEqual(before);
});

test('no credential.key beside a database that records one: refused, and none is created (not even by a first-start open)', async () => {
  const url = await server.createDatabase();
  await open(url, dataDir());
  const pool = poolOn(url);
  const missing = join(dataDir(), 'not-yet');
  const before = await snapshot(pool);
  const refusal = open(url, missing, true);
  await expect(refusal).rejects.toBeInstanceOf(StoreLocationError);
  await expect(refusal).rejects.toThrow(`no ${SEAL_KEY_FILE} in ${missing}, but database `);
  expect(existsSync(missing)).toBe(false);
  expect(await snapshot(pool)).toEqual(before);
});

test('without `create` (every command but init and the gateway), a database that records no credential.key gets none made', async () => {
  const url = await server.createDatabase();
  const pool = poolOn(url);
  await migrate(pool);
  const dir = dataDir();
  const refusal = sealKeyForPg(pool, dir);
  await expect(refusal).rejects.toBeInstanceOf(StoreLocationError);
  await expect(refusal).rejects.toThrow(`no ${SEAL_KEY_FILE} in ${dir}, and database `);
  await expect(refusal).rejects.toThrow('records none yet: run `kmsgate init` or start the gateway to create it');
  expect(readdirSync(dir)).toEqual([]);
  expect(await recordedCheck(pool)).toEqual([]);
});

describe('a database from before migration 6: live API keys, no record of the credential.key', () => {
  /** Schema version 5 and one live API key sealed under `key`, as an older kmsgate left it. */
  async function olderDatabase(key: Uint8Array): Promise<{ url: string; pool: pg.Pool; id: string }> {
    const url = await server.createDatabase();
    const pool = poolOn(url);
    await migrate(pool, MIGRATIONS.slice(0, 5));
    const generated = await new PgApiKeyRepository(pool, new ChangeFeed(pool), key).generate({ label: 'ops', role: 'admin' });
    return { url, pool, id: generated.id };
  }

  test('the gateway holding the key that opens every live secret records it at its start; another key is refused from then on, keys revoked or not', async () => {
    const dir = dataDir();
    const key = loadOrCreateSealKey(dir);
    const { url, pool, id } = await olderDatabase(key);
    const upgraded = await open(url, dir);
    expect(await recordedCheck(pool)).toEqual([createHmac('sha256', key).update('kmsgate credential.key check v1').digest()]);
    expect(await upgraded.apiKeys.revoke(id)).toBe(true);
    // No live key left to open: the record alone refuses another key.
    await expect(open(url, dataDir(randomBytes(32)))).rejects.toThrow(' is not the credential.key database ');
    expect(await sealKeyForPg(pool, dataDir(key))).toMatchObject({ outcome: 'matched' });
  });

  test('a key that cannot open the live secrets is refused and not recorded; without any, none is made', async () => {
    const { url, pool } = await olderDatabase(randomBytes(32));
    const wrong = dataDir(randomBytes(32));
    await expect(open(url, wrong)).rejects.toThrow(`${join(wrong, SEAL_KEY_FILE)} cannot open the SigV4 secrets of 1 of the 1 live API key(s) in database `);
    const none = dataDir();
    await expect(open(url, none)).rejects.toThrow(`no ${SEAL_KEY_FILE} in ${none}, but database `);
    await expect(open(url, none)).rejects.toThrow(
      ' holds 1 live API key(s) whose SigV4 secrets are sealed under one: copy credential.key (mode 0600) from a gateway',
    );
    expect(readdirSync(none)).toEqual([]);
    expect(await recordedCheck(pool)).toEqual([]);
  });
});
