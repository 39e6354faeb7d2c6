import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyRecord } from '@kmsgate/core';
import { StoreUnavailableError } from '@kmsgate/policy';
import { DEVICE_LOG_LEASE_MS, SEAL_KEY_FILE, StoreLocationError, type GatewayStore } from '@kmsgate/store';
import pg from 'pg';
import { MIGRATIONS, NoSchemaError, SchemaTooNewError, migrate, openPgGatewayStore } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';
import { TcpProxy } from './helpers/tcp-proxy';

/**
 * openPgGatewayStore: the whole GatewayStore on PostgreSQL, what a gateway with `store.url` runs on
 * (the store contract suite runs through it too: store-contract.test.ts). Here: what opening does
 * (migrations, credential.key, views loaded), that one refresh covers every view, that the audit log
 * is the one all gateways share, and the refusals at open, each leaving nothing behind.
 */
let server: TestServer;
const dirs: string[] = [];
const stores: GatewayStore[] = [];
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(sealKey?: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), 'kmsgate-pg-bundle-'));
  dirs.push(d);
  if (sealKey) writeFileSync(join(d, SEAL_KEY_FILE), sealKey, { mode: 0o600 });
  return d;
}

async function open(url: string, dir: string): Promise<GatewayStore> {
  const s = await openPgGatewayStore(url, { dataDir: dir, create: true });
  stores.push(s);
  return s;
}

const K = '33333333-3333-4333-8333-333333333333';
const key: KeyRecord = {
  keyId: K,
  createdAt: new Date(),
  description: '',
  keyUsage: 'SIGN_VERIFY',
  keySpec: 'ECC_NIST_P256',
  keyState: 'Enabled',
  origin: 'AWS_KMS',
  backendId: 'hsm',
  handle: '1:7',
  publicKey: new Uint8Array([4]),
};

async function eventually(store: GatewayStore, check: () => boolean): Promise<void> {
  for (;;) {
    await store.refresh();
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('opening migrates the schema, makes credential.key beside an empty database, and loads every view; one refresh brings every view up to date', async () => {
  const url = await server.createDatabase();
  const first = dataDir();
  const a = await open(url, first);
  expect(readFileSync(join(first, SEAL_KEY_FILE))).toHaveLength(32);
  const direct = new pg.Pool({ connectionString: url });
  try {
    expect((await direct.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]!.version).toBe(MIGRATIONS.length);
  } finally {
    await direct.end();
  }
  // Every view answers at once, before any refresh.
  expect(a.keys.getKey(K)).toBeUndefined();
  expect(a.apiKeys.findSigV4Secret('AKIAAAAAAAAAAAAAAAAA')).toBeUndefined();
  expect(a.rotations.rotations(K)).toEqual([]);
  expect(a.policyState.killSwitchesFor(K)).toEqual({ global: undefined, key: undefined });

  const b = await open(url, dataDir(readFileSync(join(first, SEAL_KEY_FILE))));
  await a.keys.insertKey(key);
  const apiKey = await a.apiKeys.generate({ label: 'ops', role: 'admin' });
  await a.rotations.recordRotation(K, '1:8', 'ON_DEMAND', new Date());
  await a.policyState.setKillSwitch(K, true, 'test', null, new Date());
  await eventually(
    b,
    () =>
      b.keys.getKey(K) !== undefined &&
      b.apiKeys.findSigV4Secret(apiKey.accessKeyId)?.secretAccessKey === apiKey.secretAccessKey &&
      b.rotations.rotations(K).length === 1 &&
      b.policyState.killSwitchesFor(K).key !== undefined,
  );

  await a.close();
  await expect(a.keys.setDescription(K, 'after close')).rejects.toThrow();
});

test("the audit log is the one every gateway shares: a's record is read through b, and b's device-log round counts it", async () => {
  const url = await server.createDatabase();
  const sealKey = randomBytes(32);
  const a = await open(url, dataDir(sealKey));
  const b = await open(url, dataDir(sealKey));
  const log = await a.openAudit({ gateway: 'gw-a' });
  try {
    await log.append({ requestId: 'r1', operation: 'Sign', keyId: K, decision: 'accept' });
    expect((await b.audit.tail(1)).map((r) => [r.seq, r.keyId, r.gateway])).toEqual([[1, K, 'gw-a']]);
    expect(await b.deviceLogs.takeLease('hsm', 'b', DEVICE_LOG_LEASE_MS)).toBe(true);
    const round = await b.deviceLogs.reconcileRound('hsm', 'b', [], new Map([[K, 7]]), new Date(), (recorded) => ({ recorded, carry: recorded }));
    expect(round).toEqual({ result: { recorded: new Map([[7, 1]]), carry: new Map([[7, 1]]) }, records: 1 });
    expect(await a.deviceLogs.reconcileState('hsm')).toEqual({ auditSeq: 1, carried: new Map([[7, 1]]) });
  } finally {
    await log.close();
  }
});

test('unreachable at open: StoreUnavailableError, nothing left open', async () => {
  const closed = new TcpProxy({ host: '127.0.0.1', port: 1 });
  await closed.start();
  const port = closed.port;
  await closed.cut();
  const dir = dataDir();
  await expect(openPgGatewayStore(`postgres://kmsgate@127.0.0.1:${port}/nothing`, { dataDir: dir, connectTimeoutMs: 2_000 })).rejects.toBeInstanceOf(
    StoreUnavailableError,
  );
  expect(readdirSync(dir)).toEqual([]);
});

test('unreachable mid-request: refresh rejects with StoreUnavailableError and every view refuses once stale; all recovers when it returns', async () => {
  const url = new URL(await server.createDatabase());
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.port = String(proxy.port);
  let clock = 0;
  const s = await openPgGatewayStore(viaProxy.toString(), { dataDir: dataDir(), create: true, connectTimeoutMs: 2_000, feed: { pollMs: 0, now: () => clock } });
  stores.push(s);
  try {
    await s.keys.insertKey(key);
    await proxy.cut();
    clock += 1_001;
    await expect(s.refresh()).rejects.toBeInstanceOf(StoreUnavailableError);
    for (const view of [() => s.keys.getKey(K), () => s.apiKeys.scopeOf('ak_x'), () => s.rotations.rotations(K), () => s.policyState.killSwitchesFor(K)])
      expect(view).toThrow(StoreUnavailableError);
    await proxy.start();
    // The pool finds its old connections dead on first use and replaces them: a refresh soon succeeds.
    for (;;) {
      clock += 1_001;
      if (
        await s.refresh().then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(s.keys.getKey(K)?.keyId).toBe(K);
  } finally {
    await proxy.cut();
  }
});

test('a request confirmed at its refresh is served from those views to its end: the reading 990 ms old at the refresh is no 503 20 ms later', async () => {
  const url = await server.createDatabase();
  let clock = 0;
  const s = await openPgGatewayStore(url, { dataDir: dataDir(), create: true, feed: { pollMs: 0, now: () => clock } });
  stores.push(s);
  await s.keys.insertKey(key);
  // The last reading (the write's own, at 0) is 990 ms old: the refresh takes it without reading again.
  clock = 990;
  const seen = await s.refreshFor(async () => {
    clock += 20;
    const atOnce = s.keys.getKey(K)?.keyId;
    // Later in the request's asynchronous course (a body read, a device call), still served.
    await new Promise((resolve) => setImmediate(resolve));
    clock += 60_000;
    return [atOnce, s.keys.getKey(K)?.keyId, s.policyState.killSwitchesFor(K).key];
  });
  expect(seen).toEqual([K, K, undefined]);
  // Outside a confirmed request the bound holds as before: the same view, 60 s old, refuses.
  expect(() => s.keys.getKey(K)).toThrow(StoreUnavailableError);
});

test('the bound still holds for requests: one arriving more than maxStalenessMs after another gateway wrote sees the write; one whose store cannot be confirmed (poller stopped, database gone) is refused before it runs', async () => {
  const url = new URL(await server.createDatabase());
  const otherDir = dataDir();
  const other = await open(url.toString(), otherDir);
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.port = String(proxy.port);
  let clock = 0;
  // pollMs 0: no background poll, as if it had stopped; readings only on demand.
  const s = await openPgGatewayStore(viaProxy.toString(), {
    dataDir: dataDir(readFileSync(join(otherDir, SEAL_KEY_FILE))),
    connectTimeoutMs: 2_000,
    feed: { pollMs: 0, now: () => clock },
  });
  stores.push(s);
  try {
    await other.keys.insertKey(key);
    clock += 1_001;
    expect(await s.refreshFor(() => s.keys.getKey(K)?.keyId)).toBe(K);

    await proxy.cut();
    clock += 1_001;
    let ran = false;
    await expect(
      s.refreshFor(() => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ran).toBe(false);
    expect(() => s.keys.getKey(K)).toThrow(StoreUnavailableError);
  } finally {
    await proxy.cut();
  }
});

test('a schema from a newer kmsgate is refused at open, and nothing is written', async () => {
  const url = await server.createDatabase();
  const pool = new pg.Pool({ connectionString: url });
  try {
    await migrate(pool, [...MIGRATIONS, 'CREATE TABLE from_the_future (x INT)']);
    const dir = dataDir();
    await expect(openPgGatewayStore(url, { dataDir: dir })).rejects.toBeInstanceOf(SchemaTooNewError);
    expect(readdirSync(dir)).toEqual([]);
    expect((await pool.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]!.version).toBe(MIGRATIONS.length + 1);
  } finally {
    await pool.end();
  }
});

test("a database without kmsgate's schema is refused unless `create` (only the gateway and `kmsgate init` make one): nothing created, no file written", async () => {
  const url = await server.createDatabase();
  const dir = dataDir();
  const refusal = openPgGatewayStore(url, { dataDir: dir });
  await expect(refusal).rejects.toBeInstanceOf(NoSchemaError);
  await expect(refusal).rejects.toThrow(`no kmsgate schema in database "${new URL(url).pathname.slice(1)}"; run \`kmsgate init\` or start the gateway`);
  expect(readdirSync(dir)).toEqual([]);
  const pool = new pg.Pool({ connectionString: url });
  try {
    expect((await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]).toEqual({ n: 0 });
  } finally {
    await pool.end();
  }
  // Once it has one, any open migrates it on (as SQLite's stores do).
  await (await open(url, dataDir())).close();
  await expect(openPgGatewayStore(url, { dataDir: dataDir(), sealKey: false }).then((s) => s.close())).resolves.toBeUndefined();
});

test("a gateway whose credential.key does not open the database's secrets, or that has none beside them, is refused at open, writing nothing", async () => {
  const url = await server.createDatabase();
  const a = await open(url, dataDir(randomBytes(32)));
  await a.apiKeys.generate({ label: 'ops', role: 'admin' });
  const wrong = dataDir(randomBytes(32));
  await expect(openPgGatewayStore(url, { dataDir: wrong })).rejects.toThrow(StoreLocationError);
  await expect(openPgGatewayStore(url, { dataDir: wrong })).rejects.toThrow('every gateway on one database must hold the same credential.key');
  const none = dataDir();
  await expect(openPgGatewayStore(url, { dataDir: none })).rejects.toThrow(`no ${SEAL_KEY_FILE} in ${none}`);
  expect(existsSync(join(none, SEAL_KEY_FILE))).toBe(false);
  expect((await a.apiKeys.list()).map((k) => k.label)).toEqual(['ops']);
});
