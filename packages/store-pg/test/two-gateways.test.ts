import { PolicyDenial, PolicyEngine, parseSigningPolicy, type Admission, type AdmissionRequest, type SignFacts } from '@kmsgate/policy';
import { openPgGateState, type PgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * Two gateways on one PostgreSQL, each with its own pool, as two processes would have them:
 * racing requests that each fit a limit but not together are admitted exactly up to it, the
 * identical request is signed once, and a change made through one applies on the other within
 * the feed's bound.
 */
let server: TestServer;
let a: PgGateState;
let b: PgGateState;
beforeAll(async () => {
  server = await testServer();
  const url = await server.createDatabase();
  // Generous queueing: 1,000 requests wait for 2 × 10 connections on a busy machine.
  const opts = { url, connectTimeoutMs: 120_000, statementTimeoutMs: 120_000, feed: { pollMs: 0 } };
  a = await openPgGateState(opts);
  b = await openPgGateState(opts);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.close();
});

let seq = 0;
function request(keyId: string, over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const fingerprint = new Uint8Array(32);
  new DataView(fingerprint.buffer).setUint32(0, ++seq);
  return { keyId, requestId: `r${seq}`, fingerprint, replayWindowMs: 60_000, rateLimits: [], caps: [], amounts: [], ...over };
}

function tally(results: Admission[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}

test('1,000 concurrent requests through two gateways, each fitting a rolling cap but not together: exactly the cap is reserved', async () => {
  const keyId = '33333333-3333-4333-8333-333333333333';
  const cap = 137n;
  const one = () => request(keyId, { caps: [{ asset: 'native', windowMs: 86_400_000, amount: 1n, cap }], amounts: [{ asset: 'native', amount: 1n }] });
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? a : b).state.admit(one())));
  expect(tally(results)).toEqual({ reserved: 137, refused: 863 });
  // Every refusal saw the cap already full: never a sum read before another gateway's reservation.
  for (const r of results) if (r.kind === 'refused') expect(r.refusal).toEqual({ check: 'cap', index: 0, used: cap });
  expect(await a.state.sumWithin(keyId, 'native', 86_400_000)).toBe(cap);
  expect(await b.state.countWithin(keyId, 86_400_000)).toBe(137);
});

test('a rate limit across two gateways: 300 concurrent requests, exactly the limit admitted', async () => {
  const keyId = '44444444-4444-4444-8444-444444444444';
  const results = await Promise.all(
    Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? a : b).state.admit(request(keyId, { rateLimits: [{ windowMs: 60_000, limit: 50 }] }))),
  );
  expect(tally(results)).toEqual({ reserved: 50, refused: 250 });
  for (const r of results) if (r.kind === 'refused') expect(r.refusal).toEqual({ check: 'rate', index: 0, used: 50 });
});

test('the identical request sent to both gateways at once is signed once, and every copy gets that signature', async () => {
  const keyId = '55555555-5555-4555-8555-555555555555';
  const policy = parseSigningPolicy({ chain: 'generic', rateLimits: { perMinute: 100 } });
  const engine = (g: PgGateState) => new PolicyEngine({ state: g.state, ledger: g.state, baseline: { [keyId]: policy }, replayWindowMs: 60_000 });
  const gateways = [engine(a), engine(b)];
  const facts: SignFacts = {
    key: { keyId, aliases: [], keySpec: 'ECC_NIST_P256', publicKey: new Uint8Array(0) },
    algorithm: 'ECDSA_SHA_256',
    messageType: 'DIGEST',
    message: new Uint8Array(32).fill(0xab),
    apiKeyId: 'ak_1',
  };
  let deviceCalls = 0;
  let finish!: (sig: Uint8Array) => void;
  const signature = new Promise<Uint8Array>((resolve) => {
    finish = resolve;
  });
  let entered!: () => void;
  const atDevice = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const sign = (e: PolicyEngine) =>
    e.signOnce<{ how: string; sig: Uint8Array }>(e.evaluate(e.policyFor({ keyId, aliases: [] })!, facts), 'r', {
      replayed: (sig) => ({ how: 'replay', sig }),
      device: () => {
        deviceCalls++;
        entered();
        return signature;
      },
      publicKey: facts.key.publicKey,
      signed: (sig) => ({ how: 'signed', sig }),
    });
  // What the request edge does before each request.
  await Promise.all([a.state.refresh(), b.state.refresh()]);
  const all = Array.from({ length: 20 }, (_, i) => sign(gateways[i % 2]!));
  await atDevice;
  // The reservation is committed in the database: the other gateway's copies are polling for the signature now.
  finish(new Uint8Array([0x30, 0x01]));
  const outcomes = await Promise.all(all);
  expect(deviceCalls).toBe(1);
  expect(outcomes.filter((o) => o.how === 'signed')).toHaveLength(1);
  for (const o of outcomes) expect(o.sig).toEqual(new Uint8Array([0x30, 0x01]));
  expect(await a.state.countWithin(keyId, 60_000)).toBe(1);
});

test('a kill switch engaged and a policy put through one gateway apply on the other once its feed reads again (within maxStalenessMs)', async () => {
  let clock = 0;
  const url = await server.createDatabase();
  const one = await openPgGateState({ url, feed: { pollMs: 0 } });
  const other = await openPgGateState({ url, feed: { pollMs: 0, now: () => clock } });
  try {
    const keyId = '66666666-6666-4666-8666-666666666666';
    const engine = new PolicyEngine({ state: other.state, ledger: other.state, baseline: {}, replayWindowMs: 0 });
    await other.state.refresh();
    expect(() => engine.checkKillSwitch(keyId)).not.toThrow();
    await one.state.setKillSwitch(keyId, true, 'ak_admin', 'incident', new Date());
    await one.state.putRuntimePolicy(keyId, '{"chain":"generic"}', 'ak_admin', new Date());
    // The other gateway's last reading is still within the bound: the request edge's refresh costs nothing yet.
    clock += other.feed.maxStalenessMs;
    await other.state.refresh();
    expect(() => engine.checkKillSwitch(keyId)).not.toThrow();
    // One millisecond more and refresh reads the counter: the switch stops the very next request.
    clock += 1;
    await other.state.refresh();
    expect(() => engine.checkKillSwitch(keyId)).toThrow(PolicyDenial);
    expect(engine.policyFor({ keyId, aliases: [] })).toMatchObject({ source: 'runtime', policy: { chain: 'generic' } });
    await one.state.setKillSwitch(keyId, false, 'ak_admin', null, new Date());
    clock += other.feed.maxStalenessMs + 1;
    await other.state.refresh();
    expect(() => engine.checkKillSwitch(keyId)).not.toThrow();
  } finally {
    await one.close();
    await other.close();
  }
});

test("the background poll picks up another gateway's change without any request", async () => {
  const url = await server.createDatabase();
  const one = await openPgGateState({ url, feed: { pollMs: 0 } });
  const other = await openPgGateState({ url, feed: { pollMs: 20 } });
  try {
    await one.state.setKillSwitch('*', true, 'ak_admin', null, new Date());
    // Polling for the condition, not timing it.
    while (other.state.killSwitchesFor('77777777-7777-4777-8777-777777777777').global === undefined) await new Promise((r) => setTimeout(r, 10));
    expect(other.state.killSwitchesFor('77777777-7777-4777-8777-777777777777').global?.engagedBy).toBe('ak_admin');
  } finally {
    await one.close();
    await other.close();
  }
});
