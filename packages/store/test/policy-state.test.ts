import { describeGateStateContract } from '../../policy/test/helpers/gate-state-contract';
import { ApiKeyStore, SqlitePolicyState, openDb, type Db } from '../src';

/** The signing gates' SQLite state (migrations 4 and 11): the shared contract, then what only SQLite has. */
describeGateStateContract('SQLite', async () => {
  const db = openDb(':memory:');
  let now = Date.UTC(2026, 0, 5, 12);
  const staleReservationMs = 30_000;
  return {
    store: new SqlitePolicyState(db, { now: () => new Date(now), staleReservationMs }),
    staleReservationMs,
    advance: async (ms) => {
      now += ms;
    },
    refresh: async () => {},
    close: async () => {
      db.close();
    },
  };
});

let db: Db;
beforeEach(() => {
  db = openDb(':memory:');
});
afterEach(() => db.close());

const K = '11111111-1111-4111-8111-111111111111';

test('a window query uses the covering index (cost follows the window, not the history)', () => {
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT SUM(l0) FROM signing_ledger_amounts WHERE key_id = ? AND asset = ? AND at > ?').all(K, 'native', 0) as {
    detail: string;
  }[];
  expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX signing_ledger_amounts_window/);
  const spends = db
    .prepare('EXPLAIN QUERY PLAN SELECT at, SUM(l0) FROM signing_ledger_amounts WHERE key_id = ? AND asset = ? AND at > ? GROUP BY at ORDER BY at')
    .all(K, 'native', 0) as { detail: string }[];
  expect(spends.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX signing_ledger_amounts_window/);
  expect(spends.map((p) => p.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
  const count = db.prepare('EXPLAIN QUERY PLAN SELECT COUNT(*) FROM signing_ledger WHERE key_id = ? AND at > ?').all(K, 0) as { detail: string }[];
  expect(count.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX signing_ledger_window/);
});

test('an admission that fails midway (here: writing its amounts) leaves nothing behind', async () => {
  const state = new SqlitePolicyState(db);
  const fingerprint = new Uint8Array(32).fill(1);
  // The entry row is inserted before its amounts; a failure there takes it back.
  db.prepare("CREATE TEMP TRIGGER fail_amount BEFORE INSERT ON signing_ledger_amounts BEGIN SELECT RAISE(ABORT, 'disk full'); END").run();
  await expect(
    state.admit({ keyId: K, requestId: 'r', fingerprint, replayWindowMs: 0, rateLimits: [], caps: [], amounts: [{ asset: 'native', amount: 1n }] }),
    // better-sqlite3's error comes from another realm under jest's workers: match its message.
  ).rejects.toMatchObject({ message: 'disk full' });
  expect(db.prepare('SELECT COUNT(*) AS n FROM signing_ledger').get()).toEqual({ n: 0 });
  expect(db.inTransaction).toBe(false);
});

test('API-key scopes: unscoped keys may use every key; a scope restricts; removing the last entry leaves none', () => {
  const keys = new ApiKeyStore(db, new Uint8Array(32).fill(3));
  const legacy = keys.generate({ label: 'legacy', role: 'signer' });
  expect(keys.scopeOf(legacy.id)).toEqual({ restricted: false, selectors: [] });
  const scoped = keys.generate({ label: 'agent', role: 'signer', scope: ['alias/a', K, 'alias/a'] });
  expect(keys.scopeOf(scoped.id)).toEqual({ restricted: true, selectors: [K, 'alias/a'].sort() });
  expect(keys.updateScope(scoped.id, { remove: [K, 'alias/a'] })).toEqual({ restricted: true, selectors: [] });
  expect(keys.updateScope(scoped.id, { allKeys: true })).toEqual({ restricted: false, selectors: [] });
  expect(() => keys.generate({ label: 'ops', role: 'admin', scope: ['alias/a'] })).toThrow(/only signer keys have a scope/);
  expect(() => keys.generate({ label: 'x', role: 'signer', scope: ['ALIAS/a'] })).toThrow(/must be a key id/);
  expect(() => keys.updateScope(scoped.id, { allKeys: true, add: ['alias/b'] })).toThrow(/cannot be combined/);
  expect(keys.scopeOf('ak_0000000000000000')).toBeUndefined();
});
