import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { AuditLog, GatewayStore } from '@kmsgate/store';
import { openGatewayStore, type StoreSpec } from '@kmsgate/store-open';
import { dropDatabase, testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { followAudit, lines } from './helpers/follower';

/**
 * `kmsgate audit tail -f` on each store, as a real process, while another process (this one)
 * appends through two audit logs at once, as two gateways: every record is printed once, in the
 * chain's order, through ONE store the follower keeps open (on PostgreSQL it opens no connection
 * after its first); Ctrl-C closes it and exits 0; a database that goes away while followed is one
 * line on stderr and exit 1. On PostgreSQL each gateway's own records (its JSONL mirror) have gaps
 * in seq; the follower reads the database's chain, which has none. Every wait is for output, never
 * for time.
 */
let server: TestServer;
let root: string;
let admin: pg.Client;
beforeAll(async () => {
  server = await testServer();
  admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  root = mkdtempSync(join(tmpdir(), 'kmsgate-follow-stores-'));
});
afterAll(async () => {
  await admin?.end();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Setup {
  /** The follower's environment: its data dir and its configuration, which names the store. */
  env: NodeJS.ProcessEnv;
  spec: StoreSpec;
  dataDir: string;
  /** The PostgreSQL database's name. */
  database?: string;
}

let made = 0;
/** A data dir and a configuration on a new store: the data dir's SQLite file, or a new PostgreSQL database the follower keeps one connection to. */
async function setup(kind: 'SQLite' | 'PostgreSQL'): Promise<Setup> {
  const dir = join(root, String(made++));
  mkdirSync(dir);
  const dataDir = join(dir, 'data');
  const configPath = join(dir, 'kmsgate.yaml');
  const config = ['backends:', '  - id: yubihsm', '    type: yubihsm', '    embedded: true'];
  let spec: StoreSpec = {};
  let database: string | undefined;
  if (kind === 'PostgreSQL') {
    const url = new URL(await server.createDatabase());
    database = url.pathname.slice(1);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const passwordFile = join(dir, 'pg.password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    // One connection: a second one opened while following would show as a new backend.
    config.push('store:', `  url: ${url.toString()}`, ...(password ? [`  passwordFile: ${passwordFile}`] : []), '  maxConnections: 1');
    spec = { url: url.toString(), ...(password ? { password } : {}) };
  }
  writeFileSync(configPath, [...config, ''].join('\n'));
  // What the gateway's first start does: the schema and credential.key.
  await (await openGatewayStore(spec, { KMSGATE_DATA_DIR: dataDir }, { create: true })).close();
  return { env: { KMSGATE_DATA_DIR: dataDir, KMSGATE_CONFIG: configPath }, spec, dataDir, ...(database ? { database } : {}) };
}

/** Two writers on the store, as two gateways: each its own store and named audit log. */
async function writers(s: Setup): Promise<{ logs: AuditLog[]; close(): Promise<void> }> {
  const stores: GatewayStore[] = [];
  const logs: AuditLog[] = [];
  for (const gateway of ['gw-a', 'gw-b']) {
    const store = await openGatewayStore(s.spec, { KMSGATE_DATA_DIR: s.dataDir });
    stores.push(store);
    logs.push(await store.openAudit({ gateway, fsync: false }));
  }
  return {
    logs,
    async close() {
      for (const log of logs) await log.close();
      for (const store of stores) await store.close();
    },
  };
}

/** The database's backends (its connections), by process id. */
async function backends(database: string): Promise<Set<number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Set(rows.map((r) => r.pid));
}

const json = (out: string) => lines(out).map((l) => JSON.parse(l) as { seq: number; requestId: string; gateway?: string });

describe.each(['SQLite', 'PostgreSQL'] as const)('%s', (kind) => {
  test('records appended by two writers at once are printed once each, in chain order, through one open store; SIGINT closes it and exits 0', async () => {
    const s = await setup(kind);
    const w = await writers(s);
    try {
      await w.logs[0]!.append({ requestId: 'first', operation: 'Before', decision: 'admin' });
      const ours = s.database === undefined ? undefined : await backends(s.database);
      const f = followAudit(s.env, '-n', '1', '-f', '--json');
      // The record that was there: the follower has read the head and follows from it.
      await f.until((out) => out.endsWith('\n'));
      const follower = ours === undefined ? undefined : [...(await backends(s.database!))].filter((pid) => !ours.has(pid));
      if (follower !== undefined) expect(follower).toHaveLength(1);

      // Five rounds of twenty records at once, half through each writer; each round printed before the next.
      const ids: string[] = [];
      for (let round = 0; round < 5; round++) {
        const batch = Array.from({ length: 20 }, (_, i) => `r${round}-${i}`);
        ids.push(...batch);
        await Promise.all(batch.map((requestId, i) => w.logs[i % 2]!.append({ requestId, operation: 'Followed', decision: 'admin' })));
        await f.until((out) => lines(out).length === 1 + ids.length);
      }
      const printed = json(await f.until(() => true));
      expect(printed.map((r) => r.requestId)).toEqual(['first', ...(await w.logs[0]!.records({ afterSeq: printed[0]!.seq })).map((r) => r.requestId)]);
      expect(new Set(printed.map((r) => r.requestId))).toEqual(new Set(['first', ...ids]));
      expect(printed.map((r) => r.seq)).toEqual(printed.map((_, i) => printed[0]!.seq + i));
      if (kind === 'PostgreSQL') {
        // Each gateway's own records have gaps; the chain printed has none.
        expect(new Set(printed.slice(1).map((r) => r.gateway))).toEqual(new Set(['gw-a', 'gw-b']));
        // The same one connection throughout: the store stayed open, no new connection per poll.
        expect([...(await backends(s.database!))].filter((pid) => !ours!.has(pid))).toEqual(follower);
      }
      f.child.kill('SIGINT');
      expect(await f.exit).toEqual({ code: 0, signal: null, stderr: '' });
    } finally {
      await w.close();
    }
  });
});

test('PostgreSQL: the database dropped while followed (its connections terminated): one line on stderr, exit 1', async () => {
  const s = await setup('PostgreSQL');
  const w = await writers(s);
  await w.logs[0]!.append({ requestId: 'only', operation: 'Before', decision: 'admin' });
  await w.close();
  const f = followAudit(s.env, '-n', '1', '-f');
  await f.until((out) => out.includes('Before'));
  // DROP … WITH (FORCE) terminates every connection to it (pg_terminate_backend), the follower's among them.
  await dropDatabase(server.adminUrl, s.database!);
  const { code, signal, stderr } = await f.exit;
  expect({ code, signal }).toEqual({ code: 1, signal: null });
  expect(lines(stderr)).toEqual([expect.stringMatching(/^kmsgate: audit tail -f: the store could not be read \(.+\); stopped following$/)]);
});
