import { parseSigningPolicy, signingHeadroom } from '../src';
import { MemoryState } from './memory-state';

/** What the budget reads from the ledger, at window edges the end-to-end test cannot reach. */
const K = '11111111-1111-4111-8111-111111111111';
const NOW = 10_000_000;
const DAY = 86_400_000;

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
    {
      asset: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
      perTransaction: 3n,
      rolling24h: undefined,
      used24h: 0n,
      remaining24h: undefined,
      nextFreeAtMs: undefined,
    },
    { asset: 'native', perTransaction: undefined, rolling24h: 10n, used24h: 7n, remaining24h: 3n, nextFreeAtMs: NOW - 1 + DAY },
  ]);
  expect(h.rateLimits).toEqual([]);
});

test('outside every time window', async () => {
  const policy = parseSigningPolicy({ chain: 'generic', timeWindows: [{ from: '09:00', to: '17:00' }] });
  expect((await signingHeadroom(new MemoryState(), K, policy, new Date('2026-12-05T08:59:59Z'))).insideTimeWindow).toBe(false);
  expect((await signingHeadroom(new MemoryState(), K, policy, new Date('2026-12-05T09:00:00Z'))).insideTimeWindow).toBe(true);
});

describe("a rolling cap's NextFreeAt: when Remaining24h next grows", () => {
  const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
  const policy = (rolling24h: string) =>
    parseSigningPolicy({ chain: 'ethereum', chainIds: [1], caps: { native: { rolling24h }, [USDC]: { perTransaction: '1' } } });
  let clock = NOW;
  /** The native cap's headroom with the ledger's clock at `at`. */
  const native = async (ledger: MemoryState, cap: string, at = NOW) => {
    clock = at;
    return (await signingHeadroom(ledger, K, policy(cap), new Date(at))).caps.find((c) => c.asset === 'native')!;
  };
  /** Spends at these times (ms before NOW) and amounts of native; 0 moves only the other asset. */
  function ledgerOf(spends: [number, bigint][]): MemoryState {
    const ledger = new MemoryState(() => clock);
    for (const [ago, amount] of spends) ledger.insert(K, NOW - ago, amount === 0n ? [{ asset: USDC, amount: 1n }] : [{ asset: 'native', amount }]);
    return ledger;
  }

  test('the oldest spend of the asset, not the oldest entry of the key, and exactly when it leaves', async () => {
    // Oldest first: a transfer of the other asset only, then 5 and 3 of native.
    const ledger = ledgerOf([
      [80_000_000, 0n],
      [60_000_000, 5n],
      [1_000, 3n],
    ]);
    const before = await native(ledger, '10');
    expect(before).toMatchObject({ used24h: 8n, remaining24h: 2n, nextFreeAtMs: NOW - 60_000_000 + DAY });
    // One millisecond before, nothing has left; at that instant the 5 have.
    expect(await native(ledger, '10', before.nextFreeAtMs! - 1)).toMatchObject({ used24h: 8n, remaining24h: 2n });
    expect(await native(ledger, '10', before.nextFreeAtMs!)).toMatchObject({ used24h: 3n, remaining24h: 7n, nextFreeAtMs: NOW - 1_000 + DAY });
  });

  test('with nothing left, it is when some amount may pass again', async () => {
    expect(
      await native(
        ledgerOf([
          [50_000, 4n],
          [40_000, 6n],
        ]),
        '10',
      ),
    ).toMatchObject({ used24h: 10n, remaining24h: 0n, nextFreeAtMs: NOW - 50_000 + DAY });
  });

  test('a cap lowered below what was spent: when enough has left for Remaining24h to grow, which may be later than the oldest spend', async () => {
    const ledger = ledgerOf([
      [50_000, 4n],
      [40_000, 0n],
      [30_000, 4n],
      [20_000, 1n],
    ]);
    // Used 9: with a cap of 6, the first 4 leaving leaves 5 < 6; with a cap of 2, 5 and then 1 are still too much.
    expect(await native(ledger, '6')).toMatchObject({ used24h: 9n, remaining24h: 0n, nextFreeAtMs: NOW - 50_000 + DAY });
    expect(await native(ledger, '2')).toMatchObject({ used24h: 9n, remaining24h: 0n, nextFreeAtMs: NOW - 30_000 + DAY });
    expect(await native(ledger, '1')).toMatchObject({ remaining24h: 0n, nextFreeAtMs: NOW - 20_000 + DAY });
    // Checked by brute force over every entry's leaving, for every cap from 1 to 10.
    const leavings = [50_000, 40_000, 30_000, 20_000].map((ago) => NOW - ago + DAY);
    for (let cap = 1n; cap <= 10n; cap++) {
      const remainingAt = async (at: number) => (await native(ledger, cap.toString(), at)).remaining24h!;
      const now = await remainingAt(NOW);
      let grows: number | undefined;
      for (const at of leavings) {
        if ((await remainingAt(at)) > now) {
          grows = at;
          break;
        }
      }
      expect([cap, (await native(ledger, cap.toString())).nextFreeAtMs]).toEqual([cap, grows]);
    }
  });

  test('spends of one millisecond leave together', async () => {
    expect(
      await native(
        ledgerOf([
          [10_000, 3n],
          [10_000, 3n],
          [5_000, 1n],
        ]),
        '4',
      ),
    ).toMatchObject({ used24h: 7n, nextFreeAtMs: NOW - 10_000 + DAY });
  });

  test('absent while nothing of the asset is counted, and without a rolling cap', async () => {
    expect(await native(ledgerOf([[10_000, 0n]]), '10')).toMatchObject({ used24h: 0n, nextFreeAtMs: undefined });
    expect(await native(ledgerOf([[DAY, 5n]]), '10')).toMatchObject({ used24h: 0n, nextFreeAtMs: undefined });
    clock = NOW;
    const usdc = (await signingHeadroom(ledgerOf([[10_000, 0n]]), K, policy('10'), new Date(NOW))).caps.find((c) => c.asset === USDC)!;
    expect(usdc).toMatchObject({ used24h: 1n, remaining24h: undefined, nextFreeAtMs: undefined });
  });
});
