import { parseSigningPolicy, signingHeadroom } from '../src';
import { MemoryState } from './memory-state';

/** What the budget reads from the ledger, at window edges the end-to-end test cannot reach. */
const K = '11111111-1111-4111-8111-111111111111';
const NOW = 10_000_000;

test('a limit lowered below what was already signed: no slot until enough entries have left the window', async () => {
  const ledger = new MemoryState(() => NOW);
  for (const at of [NOW - 50_000, NOW - 40_000, NOW - 30_000, NOW - 20_000]) ledger.insert(K, at);
  const policy = parseSigningPolicy({ chain: 'generic', rateLimits: { perMinute: 2, perHour: 10 } });
  const h = await signingHeadroom(ledger, K, policy, new Date(NOW));
  expect(h.rateLimits).toEqual([
    // Four counted, room for two: the third oldest must leave before one more may pass.
    { limit: 'perMinute', windowMs: 60_000, max: 2, used: 4, remaining: 0, nextFreeAtMs: NOW - 30_000 + 60_000 },
    { limit: 'perHour', windowMs: 3_600_000, max: 10, used: 4, remaining: 6, nextFreeAtMs: NOW - 50_000 + 3_600_000 },
  ]);
  expect(h.caps).toEqual([]);
  expect(ledger.admissions).toBe(0);
});

test('an entry exactly one window old no longer counts; reservations in flight do', async () => {
  const ledger = new MemoryState(() => NOW);
  ledger.insert(K, NOW - 86_400_000, [{ asset: 'native', amount: 5n }]);
  ledger.insert(K, NOW - 1, [{ asset: 'native', amount: 7n }]);
  const policy = parseSigningPolicy({
    chain: 'ethereum',
    chainIds: [1],
    caps: { native: { rolling24h: '10' }, '0xdAC17F958D2ee523a2206206994597C13D831ec7': { perTransaction: '3' } },
  });
  const h = await signingHeadroom(ledger, K, policy, new Date(NOW));
  expect(h.caps).toEqual([
    { asset: '0xdAC17F958D2ee523a2206206994597C13D831ec7', perTransaction: 3n, rolling24h: undefined, used24h: 0n, remaining24h: undefined },
    { asset: 'native', perTransaction: undefined, rolling24h: 10n, used24h: 7n, remaining24h: 3n },
  ]);
  expect(h.rateLimits).toEqual([]);
});

test('outside every time window', async () => {
  const policy = parseSigningPolicy({ chain: 'generic', timeWindows: [{ from: '09:00', to: '17:00' }] });
  expect((await signingHeadroom(new MemoryState(), K, policy, new Date('2026-12-05T08:59:59Z'))).insideTimeWindow).toBe(false);
  expect((await signingHeadroom(new MemoryState(), K, policy, new Date('2026-12-05T09:00:00Z'))).insideTimeWindow).toBe(true);
});
