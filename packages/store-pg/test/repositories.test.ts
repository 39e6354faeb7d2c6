import type { KeyRecord } from '@kmsgate/core';
import { StoreUnavailableError } from '@kmsgate/policy';
import { openPgGateState, PgDeviceLogRepository, PgImportTokenRepository, PgKeyRepository, PgKeyRotationRepository, type PgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';
import { TcpProxy } from './helpers/tcp-proxy';

/**
 * What the store contract suite cannot show for rotations, import tokens and device logs on
 * PostgreSQL: a running rotation's age is measured on the database's clock, not a gateway's, and an
 * unreachable database is StoreUnavailableError (503 at the server) for every call, with recovery
 * when it returns.
 */
let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

const K = '22222222-2222-4222-8222-222222222222';
const MINUTE = 60_000;
const symmetric: KeyRecord = {
  keyId: K,
  createdAt: new Date(0),
  description: '',
  keyUsage: 'ENCRYPT_DECRYPT',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyState: 'Enabled',
  origin: 'AWS_KMS',
  backendId: 'hsm',
  handle: '7:1',
  publicKey: new Uint8Array(0),
};

async function gateway(url: string, feed: { pollMs?: number; now?: () => number } = {}) {
  const opened: PgGateState = await openPgGateState({ url, connectTimeoutMs: 2_000, feed });
  const keys = new PgKeyRepository(opened.pool, opened.feed);
  const rotations = new PgKeyRotationRepository(opened.pool, opened.feed);
  const importTokens = new PgImportTokenRepository(opened.pool, opened.feed);
  // No audit record in these tests: the rounds count none.
  const deviceLogs = new PgDeviceLogRepository(opened.pool, { records: async () => [] });
  await opened.feed.read();
  return { opened, keys, rotations, importTokens, deviceLogs };
}

test("a running rotation's age is measured on the database's clock: a gateway whose clock runs ahead cannot take it over; one that really is stale is", async () => {
  const url = await server.createDatabase();
  const a = await gateway(url);
  const b = await gateway(url);
  try {
    await a.keys.insertKey(symmetric);
    const t = Date.now();
    expect(await a.rotations.claim(K, 'ON_DEMAND', new Date(t), new Date(t - 5 * MINUTE))).toBe(true);
    // b's clock is an hour ahead: on SQLite (one clock) this claim would find the mark stale.
    const skewed = t + 60 * MINUTE;
    expect(await b.rotations.claim(K, 'AUTOMATIC', new Date(skewed), new Date(skewed - 5 * MINUTE))).toBe(false);
    expect((await b.rotations.state(K)).running).toEqual({ startedAt: new Date(t), type: 'ON_DEMAND' });
    // Five minutes pass on the database's clock (the stored claim time moved back, as that clock would move).
    await a.opened.pool.query('UPDATE key_rotation SET started_db_at = started_db_at - $1', [5 * MINUTE + 1]);
    expect(await b.rotations.claim(K, 'AUTOMATIC', new Date(skewed), new Date(skewed - 5 * MINUTE))).toBe(true);
    expect((await a.rotations.state(K)).running).toEqual({ startedAt: new Date(skewed), type: 'AUTOMATIC' });
    await expect(a.rotations.claim(K, 'ON_DEMAND', new Date(t), new Date(t + 1))).rejects.toThrow(RangeError);
  } finally {
    await a.opened.close();
    await b.opened.close();
  }
});

test('a restart (a restore) while a round of another witness is in progress applies after that round: the round does not overwrite it', async () => {
  const url = await server.createDatabase();
  const [w, r] = [await gateway(url, { pollMs: 0 }), await gateway(url, { pollMs: 0 })];
  try {
    expect(await w.deviceLogs.takeLease('hsm', 'w', 60_000)).toBe(true);
    let restart: Promise<void> | undefined;
    await w.deviceLogs.reconcileRound('hsm', 'w', [], new Map(), new Date(), () => {
      // Started inside the round's transaction, on another gateway's pool: it must wait for the commit.
      restart = r.deviceLogs.restartReconciliation('hsm', 7, new Date());
      return { carry: new Map([[1, 5]]) };
    });
    await restart;
    expect(await r.deviceLogs.reconcileState('hsm')).toEqual({ auditSeq: 7, carried: new Map() });
  } finally {
    await w.opened.close();
    await r.opened.close();
  }
});

test('unreachable mid-call: every rotation, import-token and device-log call rejects with StoreUnavailableError and changes nothing; the material view refuses once stale; all recovers', async () => {
  const url = new URL(await server.createDatabase());
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.port = String(proxy.port);
  let clock = 0;
  const g = await gateway(viaProxy.toString(), { pollMs: 0, now: () => clock });
  const pending: KeyRecord = { ...symmetric, keyState: 'PendingImport', origin: 'EXTERNAL', handle: '' };
  const token = {
    tokenHash: new Uint8Array(32).fill(1),
    keyId: K,
    backendId: 'hsm',
    wrappingHandle: '1:5',
    wrappingKeySpec: 'RSA_2048',
    wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
    publicKey: new Uint8Array([1]),
    createdAt: new Date(),
    validTo: new Date(Date.now() + 86_400_000),
  };
  try {
    await g.keys.insertKey(pending);
    await g.importTokens.issue(token);
    expect(g.rotations.rotations(K)).toEqual([]);

    await proxy.cut();
    const now = new Date();
    const material = { keyId: K, handle: '1:9', publicKey: new Uint8Array([9]) };
    const calls: [string, () => Promise<unknown>][] = [
      ['onDemandRotations', () => g.rotations.onDemandRotations(K)],
      ['state', () => g.rotations.state(K)],
      ['enable', () => g.rotations.enable(K, 90, now)],
      ['disable', () => g.rotations.disable(K)],
      ['setSchedule', () => g.rotations.setSchedule(K, 90, now)],
      ['claim', () => g.rotations.claim(K, 'ON_DEMAND', now, new Date(now.getTime() - MINUTE))],
      ['release', () => g.rotations.release(K)],
      ['recordRotation', () => g.rotations.recordRotation(K, '7:2', 'ON_DEMAND', now)],
      ['dueForRotation', () => g.rotations.dueForRotation(now)],
      ['issue', () => g.importTokens.issue({ ...token, tokenHash: new Uint8Array(32).fill(2) })],
      ['find', () => g.importTokens.find(token.tokenHash)],
      ['use', () => g.importTokens.use(token.tokenHash, now, material)],
      ['forCleanup', () => g.importTokens.forCleanup(now)],
      ['wrappingDeleted', () => g.importTokens.wrappingDeleted(token.tokenHash)],
      ['lastEntry', () => g.deviceLogs.lastEntry(1)],
      ['reconcileState', () => g.deviceLogs.reconcileState('hsm')],
      ['takeLease', () => g.deviceLogs.takeLease('hsm', 'w', 60_000)],
      ['dropLease', () => g.deviceLogs.dropLease('hsm', 'w')],
      ['reconcileRound', () => g.deviceLogs.reconcileRound('hsm', 'w', [], new Map(), now, () => ({ carry: new Map() }))],
      ['restartReconciliation', () => g.deviceLogs.restartReconciliation('hsm', 1, now)],
      [
        'adoptKeys',
        () =>
          g.keys.adoptKeys([{ record: { ...symmetric, keyId: '33333333-3333-4333-8333-333333333333' }, tags: [], aliases: [], materials: [] }], [], now, 50),
      ],
    ];
    for (const [name, call] of calls) await expect(call().catch((e: unknown) => [name, e])).resolves.toEqual([name, expect.any(StoreUnavailableError)]);
    // Within the bound the view still answers from what was confirmed; past it, it refuses instead of answering stale.
    expect(g.rotations.rotations(K)).toEqual([]);
    clock += g.opened.feed.maxStalenessMs + 1;
    expect(() => g.rotations.current(symmetric)).toThrow(StoreUnavailableError);

    await proxy.start();
    await g.opened.feed.confirm();
    expect(g.rotations.current(symmetric)).toEqual({ version: 0, handle: '7:1' });
    const { rows } = await g.opened.pool.query<{ n: string; open: string }>(
      `SELECT (SELECT count(*) FROM key_rotation)::text AS n, (SELECT count(*) FROM import_tokens WHERE state = 'open' AND NOT wrapping_deleted)::text AS open,
         (SELECT count(*) FROM hsm_witness_lease)::text AS leases`,
    );
    expect(rows[0]).toEqual({ n: '0', open: '1', leases: '0' });
    expect(await g.deviceLogs.takeLease('hsm', 'w', 60_000)).toBe(true);
    expect(await g.importTokens.use(token.tokenHash, new Date(), material)).toBe('done');
    expect(g.keys.getKey(K)?.keyState).toBe('Enabled');
  } finally {
    await g.opened.close();
    await proxy.cut();
  }
});
