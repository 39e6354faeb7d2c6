import { randomUUID } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PublicKey, SystemProgram, Transaction } from '@solana/web3.js';
import { startTestGateway, type Credentials, type TestGateway } from './helpers/gateway';
import { sendKeyIdOperation } from './helpers/own-operation';
import { addressOf, admin, auditFor, createKeyWithAlias, deviceRequests } from './helpers/signing';

/**
 * GetSigningBudget end to end, through the real @aws-sdk/client-kms (SigV4) against a real gateway:
 * a Solana agent's key with a per-minute rate limit and a rolling 24 h cap signs, is refused, and
 * its budget says each time what is left. The gateway's clock is frozen and moved by the test, so
 * every window edge is exact.
 */
const SYSTEM = SystemProgram.programId;
const EXCHANGE = new PublicKey(Uint8Array.from({ length: 32 }, (_, i) => (31 + i * 7) % 256));
const T0 = Math.floor(Date.now() / 1000) * 1000;

let clockMs = T0;
let t: TestGateway;
let agent: Credentials;
let solKey: string;
let plainKey: string;
let otherKey: string;
let mismatchKey: string;
let signer: PublicKey;
let blockhashSeed = 1;

beforeAll(async () => {
  t = await startTestGateway({
    now: () => new Date(clockMs),
    policies: {
      'alias/budget-sol': {
        chain: 'solana',
        programs: [SYSTEM.toBase58()],
        recipients: [EXCHANGE.toBase58()],
        rateLimits: { perMinute: 3 },
        caps: { native: { perTransaction: '1000000', rolling24h: '2000000' } },
      },
      // An Ethereum policy on a P-256 key: every Sign is refused.
      'alias/budget-mismatch': { chain: 'ethereum', chainIds: [1] },
    },
  });
  solKey = await createKeyWithAlias(t, 'ECC_NIST_EDWARDS25519', 'alias/budget-sol');
  plainKey = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/budget-plain');
  otherKey = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/budget-other');
  mismatchKey = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/budget-mismatch');
  signer = new PublicKey(await addressOf(t, solKey, 'solana'));
  const k = t.apiKeys.generate({ label: 'trading agent', role: 'signer', scope: ['alias/budget-sol', 'alias/budget-plain', 'alias/budget-mismatch'] });
  agent = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
});
afterAll(async () => {
  await t.stop();
});

/** A client whose SigV4 clock is the gateway's (frozen) one. */
function kms(creds: Credentials = agent): KMSClient {
  return t.client(creds, { systemClockOffset: clockMs - Date.now() });
}

const budget = (keyId: string, creds?: Credentials) => sendKeyIdOperation(kms(creds), 'GetSigningBudget', keyId);

/** A SOL transfer to the exchange, a fresh blockhash each time. */
function transfer(lamports: number): Uint8Array {
  const blockhash = new PublicKey(Uint8Array.from({ length: 32 }, (_, i) => (blockhashSeed * 13 + i) % 256)).toBase58();
  blockhashSeed++;
  const tx = new Transaction({ feePayer: signer, recentBlockhash: blockhash }).add(
    SystemProgram.transfer({ fromPubkey: signer, toPubkey: EXCHANGE, lamports }),
  );
  return tx.serializeMessage();
}

const signTransfer = (lamports: number) =>
  kms().send(new SignCommand({ KeyId: 'alias/budget-sol', Message: transfer(lamports), MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512' }));

const s = (ms: number) => ms / 1000;
const DAY = 86_400_000;
const OPEN = { Global: { Engaged: false }, Key: { Engaged: false } };

describe('a key with a policy', () => {
  it('starts with its whole budget and the policy in force; asking makes no device call and spends nothing', async () => {
    const devices = deviceRequests(t);
    const first = await budget('alias/budget-sol');
    expect(first).toEqual({
      KeyId: `arn:aws:kms:us-east-1:111122223333:key/${solKey}`,
      KeyState: 'Enabled',
      At: s(T0),
      KillSwitch: OPEN,
      Policy: {
        Selector: 'alias/budget-sol',
        Source: 'config',
        Document: {
          chain: 'solana',
          allowDigest: false,
          programs: [SYSTEM.toBase58()],
          recipients: [EXCHANGE.toBase58()],
          rateLimits: { perMinute: 3 },
          caps: { native: { perTransaction: '1000000', rolling24h: '2000000' } },
        },
      },
      InsideTimeWindow: true,
      RateLimits: [{ Limit: 'perMinute', WindowSeconds: 60, Max: 3, Used: 0, Remaining: 3 }],
      Caps: [{ Asset: 'native', PerTransaction: '1000000', Rolling24h: '2000000', Used24h: '0', Remaining24h: '2000000' }],
    });
    // Four more reads than the limit allows signatures: none of them counts.
    for (let i = 0; i < 4; i++) expect(await budget(solKey)).toEqual(first);
    expect(deviceRequests(t)).toBe(devices);
  });

  it('shows what signing spent: one rate-limit slot and the amount per signature', async () => {
    await signTransfer(700_000);
    clockMs = T0 + 10_000;
    await signTransfer(800_000);
    const b = await budget('alias/budget-sol');
    expect(b.At).toBe(s(T0 + 10_000));
    expect(b.RateLimits).toEqual([{ Limit: 'perMinute', WindowSeconds: 60, Max: 3, Used: 2, Remaining: 1, NextFreeAt: s(T0 + 60_000) }]);
    // The cap grows when the first transfer leaves the 24 h window.
    expect(b.Caps).toEqual([
      { Asset: 'native', PerTransaction: '1000000', Rolling24h: '2000000', Used24h: '1500000', Remaining24h: '500000', NextFreeAt: s(T0 + DAY) },
    ]);
  });

  it('exceeded: the Policy gate refuses, the refusal spends nothing, and the budget shows 0 left', async () => {
    await expect(signTransfer(500_001)).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('(ROLLING_CAP_EXCEEDED)') });
    expect((await budget('alias/budget-sol')).Caps).toEqual([expect.objectContaining({ Used24h: '1500000', Remaining24h: '500000' })]);
    await signTransfer(500_000);
    const spent = await budget('alias/budget-sol');
    expect(spent.Caps).toEqual([
      { Asset: 'native', PerTransaction: '1000000', Rolling24h: '2000000', Used24h: '2000000', Remaining24h: '0', NextFreeAt: s(T0 + DAY) },
    ]);
    expect(spent.RateLimits).toEqual([{ Limit: 'perMinute', WindowSeconds: 60, Max: 3, Used: 3, Remaining: 0, NextFreeAt: s(T0 + 60_000) }]);
    // The rate limit is checked first: ThrottlingException, which the SDK would retry after backoff.
    await expect(signTransfer(1)).rejects.toMatchObject({ name: 'ThrottlingException', message: expect.stringContaining('(RATE_LIMIT_PER_MINUTE)') });
    expect(await budget('alias/budget-sol')).toEqual(spent);
  });

  it('frees a rate-limit slot exactly when the oldest signature leaves the sliding window', async () => {
    clockMs = T0 + 59_999;
    expect((await budget('alias/budget-sol')).RateLimits).toEqual([expect.objectContaining({ Used: 3, Remaining: 0 })]);
    clockMs = T0 + 60_000;
    const b = await budget('alias/budget-sol');
    expect(b.RateLimits).toEqual([{ Limit: 'perMinute', WindowSeconds: 60, Max: 3, Used: 2, Remaining: 1, NextFreeAt: s(T0 + 70_000) }]);
    // The 24 h cap has not moved: one lamport is still too much.
    expect(b.Caps).toEqual([expect.objectContaining({ Used24h: '2000000', Remaining24h: '0' })]);
    await expect(signTransfer(1)).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('(ROLLING_CAP_EXCEEDED)') });
  });

  it("frees rolling-cap room exactly at the cap's NextFreeAt, when the oldest spend leaves the 24 h window", async () => {
    const [{ NextFreeAt }] = (await budget('alias/budget-sol')).Caps as [{ NextFreeAt: number }];
    expect(NextFreeAt).toBe(s(T0 + DAY));
    clockMs = T0 + DAY - 1;
    expect((await budget('alias/budget-sol')).Caps).toEqual([expect.objectContaining({ Used24h: '2000000', Remaining24h: '0', NextFreeAt })]);
    await expect(signTransfer(1)).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('(ROLLING_CAP_EXCEEDED)') });
    clockMs = NextFreeAt * 1000;
    // The 700,000 of T0 left; the two transfers of T0 + 10 s are next.
    expect((await budget('alias/budget-sol')).Caps).toEqual([
      { Asset: 'native', PerTransaction: '1000000', Rolling24h: '2000000', Used24h: '1300000', Remaining24h: '700000', NextFreeAt: s(T0 + 10_000 + DAY) },
    ]);
    await signTransfer(700_000);
    expect((await budget('alias/budget-sol')).Caps).toEqual([
      expect.objectContaining({ Used24h: '2000000', Remaining24h: '0', NextFreeAt: s(T0 + 10_000 + DAY) }),
    ]);
  });

  it('shows an engaged kill switch with when and why', async () => {
    expect((await admin(t, 'PUT', '/admin/kill-switch', { engaged: true, key: 'alias/budget-sol', reason: 'drill' })).status).toBe(200);
    expect((await budget('alias/budget-sol')).KillSwitch).toEqual({
      Global: { Engaged: false },
      Key: { Engaged: true, EngagedAt: s(clockMs), Reason: 'drill' },
    });
    expect((await admin(t, 'PUT', '/admin/kill-switch', { engaged: true })).status).toBe(200);
    expect((await budget('alias/budget-plain')).KillSwitch).toEqual({ Global: { Engaged: true, EngagedAt: s(clockMs) }, Key: { Engaged: false } });
    await admin(t, 'PUT', '/admin/kill-switch', { engaged: false });
    await admin(t, 'PUT', '/admin/kill-switch', { engaged: false, key: 'alias/budget-sol' });
    expect((await budget('alias/budget-sol')).KillSwitch).toEqual(OPEN);
  });
});

describe('a policy that refuses every Sign', () => {
  const signDigest = () =>
    kms().send(new SignCommand({ KeyId: 'alias/budget-mismatch', Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));

  it('for another key spec: the policy, and the reason Sign gives', async () => {
    const b = await budget('alias/budget-mismatch');
    const message = `a ethereum policy needs a ECC_SECG_P256K1 key, and ${mismatchKey} is ECC_NIST_P256`;
    expect(b.PolicyError).toEqual({ Reason: 'POLICY_KEY_MISMATCH', Message: message });
    expect(b.Policy).toMatchObject({ Selector: 'alias/budget-mismatch', Source: 'config', Document: { chain: 'ethereum', chainIds: ['1'] } });
    await expect(signDigest()).rejects.toMatchObject({ name: 'AccessDeniedException', message: `Denied by kmsgate (POLICY_KEY_MISMATCH): ${message}` });
  });

  it('ambiguous (two runtime policies, by key id and by alias): the reason, no policy', async () => {
    for (const selector of [mismatchKey, 'alias/budget-mismatch'])
      expect((await admin(t, 'PUT', `/admin/policies/${selector}`, { chain: 'generic' })).status).toBe(200);
    const b = await budget('alias/budget-mismatch');
    expect(b.PolicyError).toEqual({ Reason: 'POLICY_AMBIGUOUS', Message: expect.stringContaining('has 2 policies in the runtime') });
    expect(b.Policy).toBeUndefined();
    await expect(signDigest()).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('(POLICY_AMBIGUOUS)') });
    for (const selector of [mismatchKey, 'alias/budget-mismatch']) await admin(t, 'DELETE', `/admin/policies/${selector}`);
  });
});

describe('a key without a policy', () => {
  it('has no policy, rate limits or caps: only the kill switches and its state', async () => {
    expect(await budget('alias/budget-plain')).toEqual({
      KeyId: `arn:aws:kms:us-east-1:111122223333:key/${plainKey}`,
      KeyState: 'Enabled',
      At: s(clockMs),
      KillSwitch: OPEN,
    });
  });

  it('answers for a disabled key too, with its state', async () => {
    expect((await t.call('DisableKey', { KeyId: plainKey })).status).toBe(200);
    expect((await budget(plainKey)).KeyState).toBe('Disabled');
    expect((await t.call('EnableKey', { KeyId: plainKey })).status).toBe(200);
  });
});

describe('refused', () => {
  it("a key outside the caller's scope: the error Sign gives, audited", async () => {
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => ({ name: 'none', message: 'it succeeded' }),
        (e: Error) => ({ name: e.name, message: e.message }),
      );
    const signRefusal = await refusal(
      kms().send(new SignCommand({ KeyId: 'alias/budget-other', Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
    );
    const budgetRefusal = await refusal(budget('alias/budget-other'));
    expect(signRefusal.name).toBe('AccessDeniedException');
    expect(budgetRefusal).toEqual(signRefusal);
    expect(budgetRefusal.message).toBe(`Denied by kmsgate (KEY_NOT_IN_SCOPE): key ${otherKey} is not in the API key's scope`);
    const rows = t.db.prepare("SELECT decision, gate, reason FROM audit_log WHERE key_id = ? AND operation = 'GetSigningBudget'").all(otherKey) as unknown[];
    expect(rows).toEqual([{ decision: 'deny', gate: 'auth', reason: 'KEY_NOT_IN_SCOPE' }]);
    expect(auditFor(t, otherKey)).toEqual([{ decision: 'deny', gate: 'auth', reason: 'KEY_NOT_IN_SCOPE' }]);
  });

  it('an unknown key: NotFoundException', async () => {
    await expect(budget('alias/no-such-key')).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(budget(randomUUID())).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('no KeyId: ValidationException, as for any KMS operation', async () => {
    const r = await t.call('GetSigningBudget', {}, { 'x-api-key': agent.apiKey });
    expect([r.status, r.json.__type]).toEqual([400, 'ValidationException']);
  });

  it('without a credential: refused before anything is looked at', async () => {
    const r = await t.call('GetSigningBudget', { KeyId: solKey }, { 'x-api-key': null });
    expect([r.status, r.json.__type]).toEqual([400, 'MissingAuthenticationTokenException']);
  });
});
