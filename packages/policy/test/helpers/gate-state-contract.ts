import { MAX_AMOUNT, type AdmissionRequest, type PolicyStateStore, type SigningLedger } from '../../src';

/**
 * The signing gates' storage contract (state.ts), as one suite every implementation runs: the
 * in-memory fake here, SQLite in packages/store, PostgreSQL in packages/store-pg. Time moves only
 * through `advance`, on the store's own clock (an injected one, or for PostgreSQL the database's,
 * whose stored times the harness moves back instead), so no case waits for the wall clock.
 */
export interface GateStateHarness {
  store: PolicyStateStore & SigningLedger;
  /** Moves the store's clock `ms` forward. */
  advance(ms: number): Promise<void>;
  /** What the request edge does once per request, so the views see writes made elsewhere (a no-op where views are always current). */
  refresh(): Promise<void>;
  /** The stale bound the store was made with. */
  staleReservationMs: number;
  close(): Promise<void>;
}

const K = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const MINUTE = 60_000;
const DAY = 86_400_000;

let seq = 0;
/** A request with a fresh fingerprint unless one is given. */
export function admission(over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  seq++;
  const fingerprint = new Uint8Array(32);
  new DataView(fingerprint.buffer).setUint32(0, seq);
  fingerprint[31] = 0xfe;
  return { keyId: K, requestId: `r${seq}`, fingerprint, replayWindowMs: MINUTE, rateLimits: [], caps: [], amounts: [], ...over };
}

export function describeGateStateContract(name: string, open: () => Promise<GateStateHarness>): void {
  describe(`signing gate state contract: ${name}`, () => {
    let h: GateStateHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.close();
    });

    const reserve = async (req: AdmissionRequest) => {
      const a = await h.store.admit(req);
      if (a.kind !== 'reserved') throw new Error(`expected a reservation, got ${JSON.stringify(a)}`);
      return a.reservation;
    };

    it('rate limits: checked in the given order, refused with the first that is used up and its count', async () => {
      const limits = [
        { windowMs: MINUTE, limit: 2 },
        { windowMs: 60 * MINUTE, limit: 3 },
      ];
      await reserve(admission({ rateLimits: limits }));
      await reserve(admission({ rateLimits: limits }));
      expect(await h.store.admit(admission({ rateLimits: limits }))).toEqual({ kind: 'refused', refusal: { check: 'rate', index: 0, used: 2 } });
      // Another key has its own budget.
      await reserve(admission({ keyId: OTHER, rateLimits: limits }));
      await h.advance(MINUTE);
      await reserve(admission({ rateLimits: limits }));
      expect(await h.store.admit(admission({ rateLimits: limits }))).toEqual({ kind: 'refused', refusal: { check: 'rate', index: 1, used: 3 } });
      expect(await h.store.countWithin(K, MINUTE)).toBe(1);
      expect(await h.store.countWithin(K, 60 * MINUTE)).toBe(3);
    });

    it('rolling caps: exact 256-bit sums per key and asset; refused with what was used; a refusal reserves nothing', async () => {
      const big = MAX_AMOUNT >> 2n;
      const cap = (amount: bigint) => [{ asset: 'native', windowMs: DAY, amount, cap: 3n * big + 5n }];
      for (let i = 0; i < 3; i++)
        await reserve(
          admission({
            caps: cap(big),
            amounts: [
              { asset: 'native', amount: big },
              { asset: 'usdc', amount: BigInt(i) },
            ],
          }),
        );
      await reserve(admission({ keyId: OTHER, amounts: [{ asset: 'native', amount: 5n }] }));
      expect(await h.store.admit(admission({ caps: cap(6n), amounts: [{ asset: 'native', amount: 6n }] }))).toEqual({
        kind: 'refused',
        refusal: { check: 'cap', index: 0, used: 3n * big },
      });
      await reserve(admission({ caps: cap(5n), amounts: [{ asset: 'native', amount: 5n }] }));
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(3n * big + 5n);
      expect(await h.store.sumWithin(K, 'usdc', DAY)).toBe(3n);
      expect(await h.store.sumWithin(K, 'nothing', DAY)).toBe(0n);
      expect(await h.store.countWithin(K, DAY)).toBe(4);
      // Rate limits are checked before caps.
      expect(await h.store.admit(admission({ rateLimits: [{ windowMs: DAY, limit: 4 }], caps: cap(1n) }))).toMatchObject({ refusal: { check: 'rate' } });
    });

    it('an entry counts while it is inside the window, and not from the instant it is one window old', async () => {
      await reserve(admission({ amounts: [{ asset: 'native', amount: 7n }] }));
      // The margin covers the real time a database clock moves while the case runs.
      await h.advance(DAY - 10_000);
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(7n);
      await h.advance(10_000);
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(0n);
      expect(await h.store.countWithin(K, DAY)).toBe(0);
    });

    it('entry times: the n-th oldest in the window, undefined past the last', async () => {
      await reserve(admission());
      await h.advance(1_000);
      await reserve(admission());
      await h.advance(1_000);
      await reserve(admission());
      const times = await Promise.all([1, 2, 3, 4].map((n) => h.store.entryTimeWithin(K, MINUTE, n)));
      expect(times[3]).toBeUndefined();
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_000);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1_000);
      await expect(h.store.entryTimeWithin(K, MINUTE, 0)).rejects.toThrow(RangeError);
    });

    it('spends: what one key moved of one asset in the window, oldest first, per millisecond, with the times on the store clock', async () => {
      const big = MAX_AMOUNT >> 2n;
      await reserve(admission({ amounts: [{ asset: 'native', amount: big }] }));
      await reserve(admission({ keyId: OTHER, amounts: [{ asset: 'native', amount: 5n }] }));
      await h.advance(10_000);
      await reserve(admission({ amounts: [{ asset: 'usdc', amount: 2n }] }));
      await h.advance(10_000);
      await reserve(admission({ amounts: [{ asset: 'native', amount: 3n }] }));
      await reserve(admission({ amounts: [{ asset: 'native', amount: 4n }] }));
      const spends = await h.store.spendsWithin(K, 'native', DAY);
      expect(spends.reduce((sum, s) => sum + s.amount, 0n)).toBe(big + 7n);
      expect(spends[0]!.amount).toBe(big);
      // The last two were admitted within the same step: one millisecond (an injected clock) or two.
      expect(spends.slice(1).map((s) => s.amount)).toEqual(spends.length === 2 ? [7n] : [3n, 4n]);
      for (let i = 1; i < spends.length; i++) expect(spends[i]!.atMs).toBeGreaterThan(spends[i - 1]!.atMs);
      expect(spends[1]!.atMs - spends[0]!.atMs).toBeGreaterThanOrEqual(20_000);
      // The times are the entries' own: what entryTimeWithin gives, on the same clock.
      expect(spends[0]!.atMs).toBe(await h.store.entryTimeWithin(K, DAY, 1));
      expect(await h.store.spendsWithin(K, 'usdc', DAY)).toEqual([{ atMs: await h.store.entryTimeWithin(K, DAY, 2), amount: 2n }]);
      expect(await h.store.spendsWithin(K, 'nothing', DAY)).toEqual([]);
      // The oldest leaves the window first (the margin covers the real time a database clock moves meanwhile).
      await h.advance(DAY - 10_000);
      expect((await h.store.spendsWithin(K, 'native', DAY)).map((s) => s.amount)).toEqual(spends.slice(1).map((s) => s.amount));
    });

    it('release removes a reservation and what it moved; complete keeps it and keeps the signature for replays until the window ends', async () => {
      const amounts = [{ asset: 'native', amount: 9n }];
      const released = await reserve(admission({ amounts }));
      await h.store.release(released);
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(0n);
      const req = admission({ amounts });
      const kept = await reserve(req);
      await h.store.complete(kept, { fingerprint: req.fingerprint, signature: new Uint8Array([1, 2, 3]), replayWindowMs: MINUTE });
      expect(await h.store.admit(req)).toEqual({ kind: 'replay', signature: new Uint8Array([1, 2, 3]) });
      expect(await h.store.countWithin(K, DAY)).toBe(1);
      await h.advance(MINUTE);
      expect((await h.store.admit(req)).kind).toBe('reserved');
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(18n);
    });

    it('a reservation in flight holds its fingerprint (pending) until completed; with the replay cache off it holds nothing', async () => {
      const req = admission();
      const r = await reserve(req);
      expect(await h.store.admit(req)).toEqual({ kind: 'pending' });
      await h.store.complete(r, { fingerprint: req.fingerprint, signature: new Uint8Array([4]), replayWindowMs: MINUTE });
      expect(await h.store.admit(req)).toEqual({ kind: 'replay', signature: new Uint8Array([4]) });

      const off = admission({ replayWindowMs: 0 });
      const first = await reserve(off);
      await reserve(off);
      await h.store.complete(first, undefined);
      expect((await h.store.admit(off)).kind).toBe('reserved');
      expect(await h.store.countWithin(K, DAY)).toBe(4);
    });

    it('a reservation never completed (its gateway died) stays counted; once stale it no longer holds its fingerprint', async () => {
      const req = admission({ amounts: [{ asset: 'native', amount: 3n }] });
      await reserve(req);
      await h.advance(h.staleReservationMs - 10_000);
      expect(await h.store.admit(req)).toEqual({ kind: 'pending' });
      await h.advance(10_000);
      await h.store.prune(2 * DAY);
      expect((await h.store.admit(req)).kind).toBe('reserved');
      expect(await h.store.sumWithin(K, 'native', DAY)).toBe(6n);
    });

    it('prune drops entries older than the retention and expired replays', async () => {
      const req = admission();
      const r = await reserve(req);
      await h.store.complete(r, { fingerprint: req.fingerprint, signature: new Uint8Array([5]), replayWindowMs: MINUTE });
      await h.advance(DAY + 10_000);
      await reserve(admission());
      await h.store.prune(DAY);
      expect(await h.store.countWithin(K, 10 * DAY)).toBe(1);
      expect((await h.store.admit(req)).kind).toBe('reserved');
    });

    it('refuses malformed input naming the field, and changes nothing', async () => {
      await expect(h.store.admit(admission({ keyId: '' }))).rejects.toThrow(/keyId/);
      await expect(h.store.admit(admission({ fingerprint: new Uint8Array(31) }))).rejects.toThrow(/fingerprint/);
      await expect(h.store.admit(admission({ amounts: [{ asset: 'native', amount: -1n }] }))).rejects.toThrow(/amounts.amount/);
      await expect(h.store.admit(admission({ caps: [{ asset: 'native', windowMs: DAY, amount: 1n, cap: MAX_AMOUNT + 1n }] }))).rejects.toThrow(/caps.cap/);
      await expect(h.store.admit(admission({ rateLimits: [{ windowMs: 0, limit: 1 }] }))).rejects.toThrow(/rateLimits.windowMs/);
      await expect(h.store.release('not-a-reservation')).rejects.toThrow(TypeError);
      expect(await h.store.countWithin(K, DAY)).toBe(0);
    });

    it('kill switches and runtime policies: written asynchronously, read through the views', async () => {
      const now = new Date(5_000);
      expect(await h.store.setKillSwitch('*', true, 'cli', 'incident', now)).toBe(true);
      expect(await h.store.setKillSwitch('*', true, 'cli', null, now)).toBe(false);
      await h.refresh();
      expect(h.store.killSwitchesFor(K)).toEqual({ global: { target: '*', engagedAt: now, engagedBy: 'cli', reason: 'incident' }, key: undefined });
      expect(await h.store.setKillSwitch(K, true, 'ak_1', null, now)).toBe(true);
      await h.refresh();
      expect(h.store.killSwitchesFor(K).key).toEqual({ target: K, engagedAt: now, engagedBy: 'ak_1', reason: null });
      expect((await h.store.listKillSwitches()).map((s) => s.target)).toEqual(['*', K]);
      expect(await h.store.setKillSwitch('*', false, 'cli', null, now)).toBe(true);
      expect(await h.store.setKillSwitch(K, false, 'cli', null, now)).toBe(true);
      await h.refresh();
      expect(h.store.killSwitchesFor(K)).toEqual({ global: undefined, key: undefined });
      expect(await h.store.listKillSwitches()).toEqual([]);

      await h.store.putRuntimePolicy('alias/a', '{"chain":"generic"}', 'ak_1', now);
      await h.store.putRuntimePolicy('alias/a', '{"chain":"generic","description":"v2"}', 'ak_2', now);
      await h.store.putRuntimePolicy(K, '{"chain":"generic"}', 'ak_1', now);
      await h.refresh();
      expect(h.store.runtimePoliciesFor(['alias/a', 'alias/zzz']).map((r) => [r.selector, r.updatedBy, r.policy])).toEqual([
        ['alias/a', 'ak_2', '{"chain":"generic","description":"v2"}'],
      ]);
      expect(h.store.runtimePoliciesFor([K, 'alias/a'])).toHaveLength(2);
      expect((await h.store.listRuntimePolicies()).map((r) => r.selector)).toEqual([K, 'alias/a'].sort());
      expect(await h.store.deleteRuntimePolicy('alias/a')).toBe(true);
      expect(await h.store.deleteRuntimePolicy('alias/a')).toBe(false);
      await h.refresh();
      expect(h.store.runtimePoliciesFor(['alias/a'])).toEqual([]);
      await expect(h.store.setKillSwitch('', true, 'cli', null, now)).rejects.toThrow(/target/);
    });
  });
}
