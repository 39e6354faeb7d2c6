import { MAX_AMOUNT } from '@kmsgate/policy';
import { ApiKeyStore, SqlitePolicyState, openDb, type Db } from '../src';

/** The signing gates' SQLite state (migration 4): exact sums, windows, reservations, replay, switches, policies, scopes. */
let db: Db;
let state: SqlitePolicyState;
beforeEach(() => {
  db = openDb(':memory:');
  state = new SqlitePolicyState(db);
});
afterEach(() => db.close());

const K = '11111111-1111-4111-8111-111111111111';

test('rolling sums are exact for 256-bit amounts, per key and asset, over (since, now]', () => {
  const big = MAX_AMOUNT >> 2n;
  for (let i = 0; i < 3; i++)
    state.reserve(K, 1000 + i, `r${i}`, [
      { asset: 'native', amount: big },
      { asset: 'usdc', amount: BigInt(i) },
    ]);
  state.reserve('22222222-2222-4222-8222-222222222222', 1001, 'other', [{ asset: 'native', amount: 5n }]);
  expect(state.sumSince(K, 'native', 0)).toBe(3n * big);
  expect(state.sumSince(K, 'native', 1000)).toBe(2n * big);
  expect(state.sumSince(K, 'usdc', 999)).toBe(3n);
  expect(state.sumSince(K, 'nothing', 0)).toBe(0n);
  expect(state.countSince(K, 1001)).toBe(1);
  expect([1, 2, 3, 4].map((n) => state.entryTimeSince(K, 999, n))).toEqual([1000, 1001, 1002, undefined]);
  expect(state.entryTimeSince(K, 1000, 1)).toBe(1001);
});

test('release removes a reservation and its amounts; commit keeps it; prune removes old entries', () => {
  const a = state.reserve(K, 10, 'a', [{ asset: 'native', amount: 7n }]);
  const b = state.reserve(K, 20, 'b', [{ asset: 'native', amount: 9n }]);
  state.release(a);
  state.commit(b);
  expect(state.sumSince(K, 'native', 0)).toBe(9n);
  expect(db.prepare('SELECT state FROM signing_ledger').all()).toEqual([{ state: 'committed' }]);
  expect(state.pruneBefore(21)).toBe(1);
  expect(db.prepare('SELECT COUNT(*) AS n FROM signing_ledger_amounts').get()).toEqual({ n: 0 });
});

test('a window query uses the covering index (cost follows the window, not the history)', () => {
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT SUM(l0) FROM signing_ledger_amounts WHERE key_id = ? AND asset = ? AND at > ?').all(K, 'native', 0) as {
    detail: string;
  }[];
  expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX signing_ledger_amounts_window/);
  const count = db.prepare('EXPLAIN QUERY PLAN SELECT COUNT(*) FROM signing_ledger WHERE key_id = ? AND at > ?').all(K, 0) as { detail: string }[];
  expect(count.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX signing_ledger_window/);
});

test('exclusive runs in one IMMEDIATE transaction and rolls back on a throw', () => {
  expect(() =>
    state.exclusive(() => {
      expect(db.inTransaction).toBe(true);
      state.reserve(K, 1, 'x', [{ asset: 'native', amount: 1n }]);
      throw new Error('denied');
    }),
  ).toThrow('denied');
  expect(state.countSince(K, 0)).toBe(0);
});

test('replay cache: found until it expires, pruned after', () => {
  const fp = new Uint8Array(32).fill(1);
  state.save(fp, K, new Uint8Array([1, 2, 3]), 100);
  expect(state.find(fp, 99)).toEqual(new Uint8Array([1, 2, 3]));
  expect(state.find(fp, 100)).toBeUndefined();
  expect(state.pruneExpired(100)).toBe(1);
});

test('kill switches and runtime policies', () => {
  const now = new Date(5000);
  expect(state.setKillSwitch('*', true, 'cli', 'incident', now)).toBe(true);
  expect(state.setKillSwitch('*', true, 'cli', null, now)).toBe(false);
  expect(state.killSwitchesFor(K)).toEqual({ global: { target: '*', engagedAt: now, engagedBy: 'cli', reason: 'incident' }, key: undefined });
  expect(state.setKillSwitch('*', false, 'cli', null, now)).toBe(true);
  expect(state.listKillSwitches()).toEqual([]);

  state.putRuntimePolicy('alias/a', '{"chain":"generic"}', 'ak_1', now);
  state.putRuntimePolicy('alias/a', '{"chain":"generic","description":"v2"}', 'ak_2', now);
  state.putRuntimePolicy(K, '{"chain":"generic"}', 'ak_1', now);
  expect(state.runtimePoliciesFor(['alias/a', 'alias/zzz']).map((r) => [r.selector, r.updatedBy])).toEqual([['alias/a', 'ak_2']]);
  expect(state.runtimePoliciesFor([K, 'alias/a'])).toHaveLength(2);
  expect(state.deleteRuntimePolicy('alias/a')).toBe(true);
  expect(state.deleteRuntimePolicy('alias/a')).toBe(false);
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
