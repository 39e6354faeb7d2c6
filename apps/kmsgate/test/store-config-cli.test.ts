import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '@kmsgate/store';
import { kmsgate } from './helpers/cli';

/**
 * The CLI finds its store as the gateway does: the configuration (KMSGATE_CONFIG, or --config)
 * chooses it. Commands about this host's SQLite data dir refuse a PostgreSQL store, saying what to
 * use instead; a configuration mistake is exit 2 with one line, as it is for the gateway.
 */
let dir: string;
let dataDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-store-'));
  dataDir = join(dir, 'data');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(store: string[]): string {
  const path = join(dir, 'kmsgate.yaml');
  writeFileSync(path, ['backends:', '  - id: yubihsm', '    type: yubihsm', '    embedded: true', ...store, ''].join('\n'));
  return path;
}

const PG = ['store:', '  url: postgres://kmsgate@127.0.0.1:1/kmsgate'];

it.each([
  [
    'backup',
    ['backup', '--out', 'OUT'],
    /^kmsgate: store\.url names a PostgreSQL database: kmsgate backup and restore copy this host's SQLite data dir; back the database up with pg_dump .*credential\.key/,
  ],
  [
    'restore',
    ['restore', 'OUT'],
    /^kmsgate: store\.url names a PostgreSQL database: kmsgate backup and restore copy this host's SQLite data dir; .*pg_restore/,
  ],
])('%s on a PostgreSQL store: exit 2, one line saying what to use instead, nothing created', async (_what, args, line) => {
  const out = join(dir, 'out');
  const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir }, '--config', config(PG), ...args.map((a) => (a === 'OUT' ? out : a)));
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(line);
  expect(r.code).toBe(2);
  expect(existsSync(dataDir)).toBe(false);
  expect(existsSync(out)).toBe(false);
});

it('--config and KMSGATE_CONFIG without store.url: the SQLite store in the data dir, as before', async () => {
  openDb(join(dataDir, 'kms.db')).close();
  const path = config([]);
  expect(await kmsgate({ KMSGATE_DATA_DIR: dataDir }, '--config', path, 'kill-switch', 'on', '--reason', 'drill')).toMatchObject({
    code: 0,
    stdout: 'the global kill switch is ENGAGED\n',
  });
  expect(await kmsgate({ KMSGATE_DATA_DIR: dataDir, KMSGATE_CONFIG: path }, 'kill-switch', 'status')).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(/^global: ENGAGED since .* by cli \(drill\)\n$/),
  });
  expect(await kmsgate({ KMSGATE_DATA_DIR: dataDir }, '--config', path, 'api-key', 'list', '--json')).toMatchObject({ code: 0, stdout: '[]\n' });
});

it.each([
  [
    'a store.url that is not PostgreSQL',
    ['store:', '  url: mysql://kmsgate@db/kmsgate'],
    /store\.url: must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\//,
  ],
  ['a password in store.url', ['store:', '  url: postgres://kmsgate:hunter2@db/kmsgate'], /store\.url: must not hold a password/],
  ['a PostgreSQL option without store.url', ['store:', '  maxConnections: 4'], /store\.maxConnections: only applies to PostgreSQL \(store\.url\)/],
])('%s: every command that opens the store refuses it (exit 2, one line), the password never echoed', async (_what, store, line) => {
  openDb(join(dataDir, 'kms.db')).close();
  const path = config(store);
  for (const args of [
    ['keys', 'list'],
    ['kill-switch', 'on'],
    ['api-key', 'list'],
  ]) {
    const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir }, '--config', path, ...args);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(line);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.code).toBe(2);
  }
  // Nothing was written: the store has no audit record, no switch.
  const db = openDb(join(dataDir, 'kms.db'));
  expect(db.prepare('SELECT count(*) AS n FROM kill_switches').get()).toEqual({ n: 0 });
  db.close();
  expect(readdirSync(dataDir).filter((f) => f === 'audit.jsonl')).toEqual([]);
});
