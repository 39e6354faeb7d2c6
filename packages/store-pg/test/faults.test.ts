import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { StoreUnavailableError, type AdmissionRequest } from '@kmsgate/policy';
import pg from 'pg';
import { MIGRATIONS, SchemaTooNewError, migrate, openPgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';
import { TcpProxy } from './helpers/tcp-proxy';

/** The faults issue 14 lists, on a real PostgreSQL: unreachable, a gateway killed mid-signature, a newer schema. */
let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

const K = '11111111-1111-4111-8111-111111111111';
const request = (fingerprint: Uint8Array, over: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  keyId: K,
  requestId: 'r',
  fingerprint,
  replayWindowMs: 60_000,
  rateLimits: [],
  caps: [],
  amounts: [{ asset: 'native', amount: 5n }],
  ...over,
});

test('unreachable at start-up: StoreUnavailableError, nothing half-open', async () => {
  const closed = new TcpProxy({ host: '127.0.0.1', port: 1 });
  await closed.start();
  const port = closed.port;
  await closed.cut();
  await expect(openPgGateState({ url: `postgres://kmsgate@127.0.0.1:${port}/nothing`, connectTimeoutMs: 2_000 })).rejects.toBeInstanceOf(StoreUnavailableError);
});

test('unreachable mid-request: every call throws StoreUnavailableError and reserves nothing; the views refuse once stale; all recovers when it returns', async () => {
  const url = new URL(await server.createDatabase());
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.port = String(proxy.port);
  let clock = 0;
  const opened = await openPgGateState({ url: viaProxy.toString(), connectTimeoutMs: 2_000, feed: { pollMs: 0, now: () => clock } });
  const direct = new pg.Pool({ connectionString: url.toString() });
  try {
    const fp = new Uint8Array(32).fill(7);
    expect((await opened.state.admit(request(fp))).kind).toBe('reserved');

    await proxy.cut();
    await expect(opened.state.admit(request(new Uint8Array(32).fill(8)))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(opened.state.setKillSwitch('*', true, 'cli', null, new Date())).rejects.toBeInstanceOf(StoreUnavailableError);
    // Within the bound the views still answer from what was confirmed; past it they refuse instead of answering stale.
    expect(opened.state.killSwitchesFor(K).global).toBeUndefined();
    clock += opened.feed.maxStalenessMs + 1;
    expect(() => opened.state.killSwitchesFor(K)).toThrow(StoreUnavailableError);
    await expect(opened.state.refresh()).rejects.toBeInstanceOf(StoreUnavailableError);
    const { rows } = await direct.query<{ n: string }>('SELECT COUNT(*)::text AS n FROM signing_ledger');
    expect(rows[0]!.n).toBe('1');

    await proxy.start();
    await opened.state.refresh();
    expect(opened.state.killSwitchesFor(K).global).toBeUndefined();
    expect((await opened.state.admit(request(new Uint8Array(32).fill(8)))).kind).toBe('reserved');
  } finally {
    await opened.close();
    await direct.end();
    await proxy.cut();
  }
});

test('a gateway killed between reservation and signature: its lock goes with its connection, its reservation stays counted and is reaped after the stale bound', async () => {
  const url = await server.createDatabase();
  const staleReservationMs = 30_000;
  const opened = await openPgGateState({ url, staleReservationMs, feed: { pollMs: 0 } });
  try {
    const fp = new Uint8Array(32).fill(9);
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('tsx/cjs/api').register(); require(${JSON.stringify(join(__dirname, 'helpers', 'hold-reservation.ts'))});`,
        url,
        K,
        Buffer.from(fp).toString('hex'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before it was ready`)));
    });
    expect(ready).toBe('ready reserved');
    child.kill('SIGKILL');
    await exited;

    // The killed process held K's lock: admitting for K goes through once PostgreSQL has dropped its connection.
    expect(await opened.state.admit(request(fp))).toEqual({ kind: 'pending' });
    const other = await opened.state.admit(request(new Uint8Array(32).fill(10)));
    expect(other.kind).toBe('reserved');

    // The stale bound passes (stored times moved back, as the database clock would move).
    await opened.pool.query('WITH a AS (UPDATE signing_ledger SET at = at - $1) UPDATE signing_ledger_amounts SET at = at - $1', [staleReservationMs]);
    await opened.state.prune(86_400_000);
    const { rows } = await opened.pool.query<{ request_id: string; fingerprint: Buffer | null }>(
      "SELECT request_id, fingerprint FROM signing_ledger WHERE state = 'reserved' ORDER BY id",
    );
    expect(rows.map((r) => [r.request_id, r.fingerprint])).toEqual([
      ['killed', null],
      ['r', null],
    ]);
    expect((await opened.state.admit(request(fp))).kind).toBe('reserved');
    expect(await opened.state.sumWithin(K, 'native', 86_400_000)).toBe(15n);
  } finally {
    await opened.close();
  }
});

test('a schema from a newer kmsgate is refused, and nothing is written to it', async () => {
  const url = await server.createDatabase();
  const pool = new pg.Pool({ connectionString: url });
  try {
    expect(await migrate(pool, [...MIGRATIONS, 'CREATE TABLE from_the_future (x INT)'])).toEqual({ from: 0, to: MIGRATIONS.length + 1 });
    await expect(openPgGateState({ url })).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(migrate(pool)).rejects.toThrow(`schema version ${MIGRATIONS.length + 1}; this one knows up to ${MIGRATIONS.length}`);
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_version');
    expect(rows[0]!.version).toBe(MIGRATIONS.length + 1);
    // Two gateways starting at once migrate one after the other.
    const fresh = new pg.Pool({ connectionString: await server.createDatabase() });
    try {
      expect((await Promise.all([migrate(fresh), migrate(fresh)])).sort((x, y) => x.from - y.from)).toEqual([
        { from: 0, to: MIGRATIONS.length },
        { from: MIGRATIONS.length, to: MIGRATIONS.length },
      ]);
    } finally {
      await fresh.end();
    }
  } finally {
    await pool.end();
  }
});
