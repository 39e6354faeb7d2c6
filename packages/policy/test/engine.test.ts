import { createPublicKey } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import { secp256k1 } from '@noble/curves/secp256k1';
import { PublicKey, SystemProgram, TransactionMessage } from '@solana/web3.js';
import { Transaction, getBytes } from 'ethers';
import {
  GLOBAL_KILL_SWITCH,
  PolicyDenial,
  PolicyEngine,
  parseSigningPolicy,
  policyToJson,
  scopeAllows,
  type KeyFacts,
  type ResolvedPolicy,
  type SignFacts,
  type SigningPolicy,
} from '../src';
import { MemoryState } from './memory-state';

/**
 * The engine alone, on an in-memory store: the documented order of the rules, fail-closed
 * resolution, and the exact accounting of steps 9-11 (replay, rate limits, rolling caps).
 */
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
function spki(curve: 'ed25519' | 'secp256k1', secret: Uint8Array): Uint8Array {
  const jwk =
    curve === 'ed25519'
      ? { kty: 'OKP', crv: 'Ed25519', x: b64url(ed25519.getPublicKey(secret)) }
      : (() => {
          const p = secp256k1.getPublicKey(secret, false);
          return { kty: 'EC', crv: 'secp256k1', x: b64url(p.subarray(1, 33)), y: b64url(p.subarray(33)) };
        })();
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

const SOL_SECRET = new Uint8Array(32).fill(1);
const SOL_KEY: KeyFacts = {
  keyId: '11111111-1111-4111-8111-111111111111',
  aliases: ['alias/sol'],
  keySpec: 'ECC_NIST_EDWARDS25519',
  publicKey: spki('ed25519', SOL_SECRET),
};
const SIGNER = new PublicKey(ed25519.getPublicKey(SOL_SECRET));
const FRIEND = new PublicKey(new Uint8Array(32).fill(7));
const STRANGER = new PublicKey(new Uint8Array(32).fill(8));
const ETH_KEY: KeyFacts = {
  keyId: '22222222-2222-4222-8222-222222222222',
  aliases: [],
  keySpec: 'ECC_SECG_P256K1',
  publicKey: spki('secp256k1', new Uint8Array(32).fill(2)),
};

const solanaPolicy = (extra: Record<string, unknown> = {}) =>
  parseSigningPolicy({
    chain: 'solana',
    programs: [SystemProgram.programId.toBase58()],
    recipients: [FRIEND.toBase58()],
    caps: { native: { perTransaction: '1000', rolling24h: '2500' } },
    ...extra,
  });

let blockhashSeed = 10;
function transfer(lamports: number, to = FRIEND): Uint8Array {
  const recentBlockhash = new PublicKey(new Uint8Array(32).fill(blockhashSeed++)).toBase58();
  return Uint8Array.from(
    new TransactionMessage({ payerKey: SIGNER, recentBlockhash, instructions: [SystemProgram.transfer({ fromPubkey: SIGNER, toPubkey: to, lamports })] })
      .compileToLegacyMessage()
      .serialize(),
  );
}

function setup(opts: { baseline?: Record<string, SigningPolicy>; replayWindowMs?: number } = {}) {
  let now = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday, noon UTC
  const state = new MemoryState(() => now);
  const engine = new PolicyEngine({
    state,
    ledger: state,
    baseline: opts.baseline ?? { 'alias/sol': solanaPolicy() },
    replayWindowMs: opts.replayWindowMs ?? 60_000,
    now: () => new Date(now),
  });
  return {
    state,
    engine,
    advance: (ms: number) => {
      now += ms;
    },
    at: () => now,
  };
}

const facts = (message: Uint8Array, extra: Partial<SignFacts> = {}): SignFacts => ({
  key: SOL_KEY,
  algorithm: 'ED25519_SHA_512',
  messageType: 'RAW',
  message,
  apiKeyId: 'ak_1',
  ...extra,
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyDenial) return e.code;
    throw e;
  }
  throw new Error('expected a denial');
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof PolicyDenial) return e.code;
    throw e;
  }
  throw new Error('expected a denial');
}

/** A device stand-in: each call returns the next signature, one byte counting calls. */
function device() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    sign: async () => new Uint8Array([++calls]),
  };
}

/** Evaluates and signs through the engine; returns 'signed', 'replay' or the denial code. */
async function run(engine: PolicyEngine, message: Uint8Array, extra: Partial<SignFacts> = {}): Promise<string> {
  try {
    const resolved = engine.policyFor(SOL_KEY)!;
    const ev = engine.evaluate(resolved, facts(message, extra));
    return await engine.signOnce(ev, 'req', {
      replayed: () => 'replay',
      device: device().sign,
      publicKey: SOL_KEY.publicKey,
      signed: () => 'signed',
    });
  } catch (e) {
    if (e instanceof PolicyDenial) return e.code;
    throw e;
  }
}

/** A device call that is still running until the test settles it. */
function pendingDeviceCall() {
  let entered!: () => void;
  const started = new Promise<void>((ok) => {
    entered = ok;
  });
  let ok!: (sig: Uint8Array) => void;
  let fail!: (e: Error) => void;
  const result = new Promise<Uint8Array>((resolve, reject) => {
    ok = resolve;
    fail = reject;
  });
  return {
    call: () => {
      entered();
      return result;
    },
    started,
    ok: (sig: Uint8Array) => ok(sig),
    fail: (e: Error) => fail(e),
  };
}

describe('steps 1-2: kill switch and scope', () => {
  it("the global switch is reported before the key's", async () => {
    const { state, engine } = setup();
    expect(() => engine.checkKillSwitch(SOL_KEY.keyId)).not.toThrow();
    await state.setKillSwitch(SOL_KEY.keyId, true, 'cli', null, new Date());
    expect(codeOf(() => engine.checkKillSwitch(SOL_KEY.keyId))).toBe('KILL_SWITCH_KEY');
    await state.setKillSwitch(GLOBAL_KILL_SWITCH, true, 'cli', 'incident', new Date());
    expect(codeOf(() => engine.checkKillSwitch(SOL_KEY.keyId))).toBe('KILL_SWITCH_GLOBAL');
    expect(codeOf(() => engine.checkKillSwitch(ETH_KEY.keyId))).toBe('KILL_SWITCH_GLOBAL');
  });

  it('scope: unrestricted, by key id, by alias, and an empty restricted scope allows nothing', () => {
    expect(scopeAllows({ restricted: false, selectors: [] }, SOL_KEY)).toBe(true);
    expect(scopeAllows({ restricted: true, selectors: [SOL_KEY.keyId] }, SOL_KEY)).toBe(true);
    expect(scopeAllows({ restricted: true, selectors: ['alias/sol'] }, SOL_KEY)).toBe(true);
    expect(scopeAllows({ restricted: true, selectors: ['alias/other'] }, SOL_KEY)).toBe(false);
    expect(scopeAllows({ restricted: true, selectors: [] }, SOL_KEY)).toBe(false);
    expect(codeOf(() => setup().engine.checkScope({ restricted: true, selectors: [] }, SOL_KEY))).toBe('KEY_NOT_IN_SCOPE');
  });
});

describe('step 3: which policy applies', () => {
  it("none, the configuration's, a runtime one over it (under any of the key's names), and the configuration again after delete", async () => {
    const { state, engine } = setup();
    expect(engine.policyFor(ETH_KEY)).toBeUndefined();
    expect(engine.policyFor(SOL_KEY)).toMatchObject({ selector: 'alias/sol', source: 'config' });
    await state.putRuntimePolicy(SOL_KEY.keyId, JSON.stringify({ chain: 'generic' }), 'ak_admin', new Date());
    expect(engine.policyFor(SOL_KEY)).toMatchObject({ selector: SOL_KEY.keyId, source: 'runtime', policy: { chain: 'generic' } });
    await state.deleteRuntimePolicy(SOL_KEY.keyId);
    expect(engine.policyFor(SOL_KEY)?.source).toBe('config');
  });

  it('fails closed: two in one layer are ambiguous; a stored policy that no longer validates denies', async () => {
    const { state, engine } = setup({ baseline: { 'alias/sol': solanaPolicy(), [SOL_KEY.keyId]: solanaPolicy() } });
    expect(codeOf(() => engine.policyFor(SOL_KEY))).toBe('POLICY_AMBIGUOUS');
    await state.putRuntimePolicy('alias/sol', '{"chain":"generic","surprise":1}', 'ak_admin', new Date());
    expect(codeOf(() => engine.policyFor(SOL_KEY))).toBe('POLICY_INVALID');
    await state.putRuntimePolicy('alias/sol', 'not json', 'ak_admin', new Date());
    expect(codeOf(() => engine.policyFor(SOL_KEY))).toBe('POLICY_INVALID');
  });
});

describe('steps 3-8 in order', () => {
  const { engine } = setup();
  const resolved = (policy: SigningPolicy): ResolvedPolicy => ({ selector: 'alias/sol', source: 'config', policy });

  it('key spec, then message type, then decode, then allowlists, then caps, then time windows', () => {
    const windows = { timeWindows: [{ days: ['sun'], from: '00:00', to: '01:00' }] };
    const p = solanaPolicy(windows);
    // A message that breaks every later rule reports the earliest.
    const all = transfer(5000, STRANGER);
    expect(codeOf(() => engine.evaluate(resolved(p), facts(all, { key: { ...SOL_KEY, keySpec: 'ECC_SECG_P256K1' } })))).toBe('POLICY_KEY_MISMATCH');
    expect(codeOf(() => engine.evaluate(resolved(p), facts(all, { messageType: 'DIGEST' })))).toBe('DIGEST_NOT_ALLOWED');
    expect(codeOf(() => engine.evaluate(resolved(p), facts(all.subarray(0, 20))))).toBe('SOLANA_MALFORMED');
    expect(codeOf(() => engine.evaluate(resolved(p), facts(all)))).toBe('RECIPIENT_NOT_ALLOWED');
    expect(codeOf(() => engine.evaluate(resolved(p), facts(transfer(5000))))).toBe('PER_TX_CAP_EXCEEDED');
    expect(codeOf(() => engine.evaluate(resolved(p), facts(transfer(1000))))).toBe('OUTSIDE_TIME_WINDOW');
    expect(engine.evaluate(resolved(solanaPolicy()), facts(transfer(1000))).spend).toEqual(new Map([['native', 1000n]]));
  });

  it("a decode failure is in the decode gate, with the decoder's code; a policy rule in the policy gate with what was decoded", () => {
    const decodeFail = (() => {
      try {
        engine.evaluate(resolved(solanaPolicy()), facts(new Uint8Array([1])));
      } catch (e) {
        return e as PolicyDenial;
      }
    })()!;
    expect([decodeFail.gate, decodeFail.code, decodeFail.summary]).toEqual(['decode', 'SOLANA_MALFORMED', undefined]);
    const policyFail = (() => {
      try {
        engine.evaluate(resolved(solanaPolicy()), facts(transfer(1, STRANGER)));
      } catch (e) {
        return e as PolicyDenial;
      }
    })()!;
    expect([policyFail.gate, policyFail.code]).toEqual(['policy', 'RECIPIENT_NOT_ALLOWED']);
    expect(policyFail.summary).toMatchObject({ chain: 'solana', feePayer: SIGNER.toBase58() });
  });

  it('allowDigest lets a DIGEST through undecoded, with nothing to count', () => {
    const ev = engine.evaluate(
      resolved(solanaPolicy({ allowDigest: true })),
      facts(new Uint8Array(64), { messageType: 'DIGEST', algorithm: 'ED25519_PH_SHA_512' }),
    );
    expect([ev.summary, ev.spend.size, ev.deviceInput]).toEqual([undefined, 0, undefined]);
  });

  it('Ethereum RAW: the device input is the keccak-256 signing hash of the unsigned transaction', () => {
    const tx = Transaction.from({
      type: 2,
      chainId: 1,
      nonce: 0,
      to: '0x' + '11'.repeat(20),
      value: 5n,
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
      gasLimit: 21_000n,
    });
    const policy = parseSigningPolicy({ chain: 'ethereum', chainIds: [1], caps: { native: { perTransaction: '1000000' } } });
    const ev = engine.evaluate(
      { selector: 'k', source: 'config', policy },
      { ...facts(getBytes(tx.unsignedSerialized)), key: ETH_KEY, algorithm: 'ECDSA_SHA_256' },
    );
    expect(Buffer.from(ev.deviceInput!).toString('hex')).toBe(tx.unsignedHash.slice(2));
    expect(ev.spend).toEqual(new Map([['native', 5n + 42_000n]]));
  });
});

describe('steps 9-11: replay, rate limits, rolling caps', () => {
  it('a rolling cap is a true sliding window: an entry counts for exactly 24 hours', async () => {
    const { engine, advance } = setup();
    expect(await run(engine, transfer(1000))).toBe('signed');
    advance(6 * 3_600_000);
    expect(await run(engine, transfer(1000))).toBe('signed');
    expect(await run(engine, transfer(501))).toBe('ROLLING_CAP_EXCEEDED');
    expect(await run(engine, transfer(500))).toBe('signed');
    // 24 h minus 1 ms after the first: still counted. At 24 h: it has left the window.
    advance(18 * 3_600_000 - 1);
    expect(await run(engine, transfer(1))).toBe('ROLLING_CAP_EXCEEDED');
    advance(1);
    expect(await run(engine, transfer(1000))).toBe('signed');
    expect(await run(engine, transfer(1))).toBe('ROLLING_CAP_EXCEEDED');
  });

  it('a reservation counts from admission, until the device call fails and it is released', async () => {
    const { engine } = setup();
    const resolved = engine.policyFor(SOL_KEY)!;
    const evOf = () => engine.evaluate(resolved, facts(transfer(1000)));
    const d1 = pendingDeviceCall();
    const d2 = pendingDeviceCall();
    const steps = (d: ReturnType<typeof pendingDeviceCall>) => ({
      replayed: () => 'replay',
      device: d.call,
      publicKey: SOL_KEY.publicKey,
      signed: () => 'signed',
    });
    const s1 = engine.signOnce(evOf(), 'r1', steps(d1));
    const s2 = engine.signOnce(evOf(), 'r2', steps(d2));
    await Promise.all([d1.started, d2.started]);
    // Both at the device: 2000 of 2500 reserved, the third does not fit.
    expect(await run(engine, transfer(1000))).toBe('ROLLING_CAP_EXCEEDED');
    d2.fail(new Error('device unplugged'));
    await expect(s2).rejects.toThrow('device unplugged');
    expect(await run(engine, transfer(1000))).toBe('signed');
    d1.ok(new Uint8Array([1]));
    expect(await s1).toBe('signed');
    // Both committed: 2000 of 2500 used.
    expect(await run(engine, transfer(501))).toBe('ROLLING_CAP_EXCEEDED');
    expect(await run(engine, transfer(500))).toBe('signed');
  });

  it('a reservation whose signature could not be released (audit write failed) stays counted', async () => {
    const { engine } = setup();
    const ev = engine.evaluate(engine.policyFor(SOL_KEY)!, facts(transfer(1000)));
    await expect(
      engine.signOnce(ev, 'r1', {
        replayed: () => 'replay',
        device: device().sign,
        publicKey: SOL_KEY.publicKey,
        signed: () => {
          throw new Error('audit write failed');
        },
      }),
    ).rejects.toThrow('audit write failed');
    expect(await run(engine, transfer(1000))).toBe('signed');
    expect(await run(engine, transfer(501))).toBe('ROLLING_CAP_EXCEEDED');
    expect(await run(engine, transfer(500))).toBe('signed');
  });

  it('a replay returns the stored signature, counts nothing, and ends with the window', async () => {
    const { engine, state, advance } = setup({
      replayWindowMs: 60_000,
      baseline: { 'alias/sol': solanaPolicy({ caps: { native: { perTransaction: '1000' } } }) },
    });
    const message = transfer(1000);
    const dev = device();
    const resolved = engine.policyFor(SOL_KEY)!;
    const signOnce = (extra: Partial<SignFacts> = {}) =>
      engine.signOnce<Record<string, Uint8Array>>(engine.evaluate(resolved, facts(message, extra)), 'r', {
        replayed: (sig) => ({ replay: sig }),
        device: dev.sign,
        publicKey: SOL_KEY.publicKey,
        signed: (sig) => ({ signed: sig }),
      });
    expect(await signOnce()).toEqual({ signed: new Uint8Array([1]) });
    expect(await signOnce()).toEqual({ replay: new Uint8Array([1]) });
    expect(state.entries.size).toBe(1);
    // Another API key asking for the same message is a new request.
    expect(await signOnce({ apiKeyId: 'ak_2' })).toEqual({ signed: new Uint8Array([2]) });
    advance(60_000);
    expect(await signOnce()).toEqual({ signed: new Uint8Array([3]) });
    expect(dev.calls).toBe(3);
  });

  it('rate limits count signatures in the window, not refusals', async () => {
    const { engine, advance } = setup({ baseline: { 'alias/sol': solanaPolicy({ rateLimits: { perMinute: 2, perHour: 3 } }) } });
    expect(await run(engine, transfer(1))).toBe('signed');
    expect(await run(engine, transfer(1, STRANGER))).toBe('RECIPIENT_NOT_ALLOWED');
    expect(await run(engine, transfer(1))).toBe('signed');
    expect(await run(engine, transfer(1))).toBe('RATE_LIMIT_PER_MINUTE');
    advance(60_000);
    expect(await run(engine, transfer(1))).toBe('signed');
    advance(60_000);
    expect(await run(engine, transfer(1))).toBe('RATE_LIMIT_PER_HOUR');
  });

  it('two identical requests at once: the second waits for the first and gets its signature', async () => {
    const { engine } = setup();
    const message = transfer(1000);
    const first = pendingDeviceCall();
    let deviceCalls = 0;
    const resolved = engine.policyFor(SOL_KEY)!;
    const signOnce = () =>
      engine.signOnce(engine.evaluate(resolved, facts(message)), 'r', {
        replayed: (sig) => sig,
        device: () => {
          deviceCalls++;
          return first.call();
        },
        publicKey: SOL_KEY.publicKey,
        signed: (sig) => sig,
      });
    const x = signOnce();
    const y = signOnce();
    await first.started;
    first.ok(new Uint8Array([7]));
    expect(await x).toEqual(new Uint8Array([7]));
    expect(await y).toEqual(new Uint8Array([7]));
    expect(deviceCalls).toBe(1);
  });

  it("two gateways on one store: the second waits for the first's signature instead of signing again, and is told to retry when it does not come", async () => {
    const { engine, state, advance } = setup();
    const second = new PolicyEngine({
      state,
      ledger: state,
      baseline: { 'alias/sol': solanaPolicy() },
      replayWindowMs: 60_000,
      now: () => new Date(state.now()),
    });
    const impatient = new PolicyEngine({
      state,
      ledger: state,
      baseline: { 'alias/sol': solanaPolicy() },
      replayWindowMs: 60_000,
      pendingWaitMs: 0,
      now: () => new Date(state.now()),
    });
    const resolved = engine.policyFor(SOL_KEY)!;
    const message = transfer(1000);
    const first = pendingDeviceCall();
    let deviceCalls = 0;
    const signOnce = (e: PolicyEngine) =>
      e.signOnce<Record<string, Uint8Array>>(e.evaluate(resolved, facts(message)), 'r', {
        replayed: (sig) => ({ replay: sig }),
        device: () => {
          deviceCalls++;
          return first.call();
        },
        publicKey: SOL_KEY.publicKey,
        signed: (sig) => ({ signed: sig }),
      });
    const x = signOnce(engine);
    await first.started;
    const admissionsBefore = state.admissions;
    const y = signOnce(second);
    expect(await asyncCodeOf(() => signOnce(impatient))).toBe('REPLAY_IN_FLIGHT');
    // The second gateway has seen the reservation at least once before the first finishes.
    while (state.admissions < admissionsBefore + 2) await new Promise((r) => setImmediate(r));
    first.ok(new Uint8Array([9]));
    expect(await x).toEqual({ signed: new Uint8Array([9]) });
    expect(await y).toEqual({ replay: new Uint8Array([9]) });
    expect(deviceCalls).toBe(1);
    expect(state.entries.size).toBe(1);

    // A reservation its gateway never completed (killed mid-signature) stays counted, and once
    // stale no longer holds the fingerprint: another gateway signs after the bound.
    const stuck = pendingDeviceCall();
    const lost = transfer(700);
    const abandoned = engine.signOnce(engine.evaluate(resolved, facts(lost)), 'r', {
      replayed: () => 0,
      device: stuck.call,
      publicKey: SOL_KEY.publicKey,
      signed: () => 0,
    });
    await stuck.started;
    expect(
      await asyncCodeOf(() =>
        impatient.signOnce(impatient.evaluate(resolved, facts(lost)), 'r', {
          replayed: () => 0,
          device: device().sign,
          publicKey: SOL_KEY.publicKey,
          signed: () => 0,
        }),
      ),
    ).toBe('REPLAY_IN_FLIGHT');
    advance(state.staleReservationMs);
    expect(
      await impatient.signOnce(impatient.evaluate(resolved, facts(lost)), 'r', {
        replayed: () => 'replay',
        device: device().sign,
        publicKey: SOL_KEY.publicKey,
        signed: () => 'signed',
      }),
    ).toBe('signed');
    // 1000 + 700 (stuck, still counted) + 700: the cap of 2500 leaves 100.
    expect(await run(second, transfer(101))).toBe('ROLLING_CAP_EXCEEDED');
    stuck.fail(new Error('gateway killed'));
    await expect(abandoned).rejects.toThrow('gateway killed');
  });

  it('old ledger entries are pruned as time passes', async () => {
    const { engine, state, advance } = setup();
    await run(engine, transfer(1));
    advance(26 * 3_600_000);
    await run(engine, transfer(1));
    expect(state.entries.size).toBe(1);
  });
});

describe('signature formats', () => {
  it('cosmos-raw is 64-byte low-S r‖s; ethereum-rsv recovers to the key', () => {
    const secret = new Uint8Array(32).fill(2);
    const digest = new Uint8Array(32).fill(5);
    const sig = secp256k1.sign(digest, secret);
    const highS = new secp256k1.Signature(sig.r, secp256k1.CURVE.n - sig.s).toDERRawBytes();
    const { engine } = setup();
    const ev = (format: 'cosmos-raw' | 'ethereum-rsv') => ({ signatureFormat: format, signedDigest: digest }) as Parameters<PolicyEngine['formatSignature']>[0];
    const raw = engine.formatSignature(ev('cosmos-raw'), highS, ETH_KEY.publicKey);
    expect(raw).toEqual(sig.toCompactRawBytes());
    const rsv = engine.formatSignature(ev('ethereum-rsv'), highS, ETH_KEY.publicKey);
    expect(rsv).toHaveLength(65);
    expect(
      secp256k1.Signature.fromCompact(rsv.subarray(0, 64))
        .addRecoveryBit(rsv[64]! - 27)
        .recoverPublicKey(digest)
        .toRawBytes(true),
    ).toEqual(secp256k1.getPublicKey(secret, true));
  });
});

describe('policyToJson', () => {
  it('round-trips: amounts as strings, defaults filled, Ethereum addresses EIP-55', () => {
    const p = parseSigningPolicy({
      chain: 'ethereum',
      chainIds: [1, '10'],
      recipients: ['0x' + 'ab'.repeat(20)],
      caps: { ['0x' + 'cd'.repeat(20)]: { perTransaction: '7' } },
    });
    const json = policyToJson(p);
    expect(json).toMatchObject({
      chainIds: ['1', '10'],
      allowDigest: false,
      allowContractCreation: false,
      signatureFormat: 'der',
      recipients: [expect.stringMatching(/^0x(?=.*[a-f])(?=.*[A-F])[0-9a-fA-F]{40}$/)],
    });
    expect(Object.values(json.caps as object)[0]).toEqual({ perTransaction: '7' });
    expect(parseSigningPolicy(json)).toEqual(p);
  });

  it('refuses the same asset twice once addresses are normalised', () => {
    expect(() =>
      parseSigningPolicy({
        chain: 'ethereum',
        chainIds: [1],
        caps: { ['0x' + 'cd'.repeat(20)]: { perTransaction: '1' }, ['0x' + 'CD'.repeat(20)]: { perTransaction: '2' } },
      }),
    ).toThrow(/is listed twice/);
  });
});
