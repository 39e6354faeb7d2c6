import { encodeSecp256k1Pubkey, pubkeyToAddress } from '@cosmjs/amino';
import { Registry, encodePubkey, makeAuthInfoBytes, makeSignBytes, makeSignDoc } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { secp256k1 } from '@noble/curves/secp256k1';
import { PublicKey, SystemProgram, Transaction } from '@solana/web3.js';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { REASON_CODES } from '@kmsgate/policy';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { addressOf, createKeyWithAlias, deviceRequests, publicKeyOf, reasonOf } from './helpers/signing';

/**
 * Fuzzing through the server: thousands of random and mutated messages, over HTTP with x-api-key
 * as any client would send them, to a key with a Solana policy and a key with a Cosmos policy.
 * The unmutated message of each is a transfer to a recipient the policy does not list, so nothing
 * here may be signed: every answer must be an AccessDeniedException with a known reason code, no
 * request may reach the device, every one must be audited as a denial, and the server must stay up.
 */
const PER_KEY = 1500;
const CONCURRENCY = 16;
/** A safety net, not a measure: the fuzz takes seconds on an idle machine and minutes on a saturated one. */
const FUZZ_TIMEOUT_MS = 600_000;

/** mulberry32: deterministic, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function mutations(base: Uint8Array, count: number, seed: number): Uint8Array[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const m = Uint8Array.from(base);
    switch (i % 5) {
      case 0: // random bytes of a plausible length
        out.push(bytes(1 + int(700)));
        break;
      case 1: {
        // flip 1-4 bytes
        for (let k = 0, n = 1 + int(4); k < n; k++) m[int(m.length)] = int(256);
        out.push(m);
        break;
      }
      case 2: // truncate
        out.push(m.subarray(0, 1 + int(m.length - 1)));
        break;
      case 3: // append junk
        out.push(Uint8Array.from([...m, ...bytes(1 + int(64))]));
        break;
      default: {
        // splice random bytes into the middle
        const at = int(m.length);
        out.push(Uint8Array.from([...m.subarray(0, at), ...bytes(1 + int(16)), ...m.subarray(at + int(8))]));
      }
    }
  }
  return out;
}

const ALLOWED_SOLANA = new PublicKey(new Uint8Array(32).fill(9));
const STRANGER_SOLANA = new PublicKey(new Uint8Array(32).fill(10));
const ALLOWED_COSMOS = pubkeyToAddress(encodeSecp256k1Pubkey(secp256k1.getPublicKey(new Uint8Array(32).fill(9), true)), 'cosmos');
const STRANGER_COSMOS = pubkeyToAddress(encodeSecp256k1Pubkey(secp256k1.getPublicKey(new Uint8Array(32).fill(10), true)), 'cosmos');

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    // Every denial is still written to SQLite and the JSONL mirror; only the fdatasync per record
    // is skipped, which is about durability across a power cut, not what this test checks.
    audit: { fsync: false },
    policies: {
      'alias/fuzz-solana': {
        chain: 'solana',
        programs: [SystemProgram.programId.toBase58()],
        recipients: [ALLOWED_SOLANA.toBase58()],
        caps: { native: { perTransaction: '1000000000' } },
      },
      'alias/fuzz-cosmos': {
        chain: 'cosmos',
        chainIds: ['cosmoshub-4'],
        messageTypes: [MsgSend.typeUrl],
        recipients: [ALLOWED_COSMOS],
        caps: { uatom: { perTransaction: '1000000000' } },
      },
    },
  });
});
afterAll(async () => {
  await t.stop();
});

async function hammer(alias: string, algorithm: string, messages: Uint8Array[]): Promise<Map<string, number>> {
  const reasons = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < messages.length) {
      const message = messages[next++]!;
      const res = await fetch(t.url + '/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign', 'x-api-key': t.admin.apiKey },
        body: JSON.stringify({ KeyId: alias, Message: Buffer.from(message).toString('base64'), MessageType: 'RAW', SigningAlgorithm: algorithm }),
      });
      const body = (await res.json()) as { __type?: string; message?: string; Signature?: string };
      if (body.Signature !== undefined) throw new Error(`signed a fuzzed message: ${Buffer.from(message).toString('hex')}`);
      expect(res.status).toBe(400);
      expect(body.__type).toBe('AccessDeniedException');
      const reason = reasonOf(body.message ?? '');
      expect(Object.keys(REASON_CODES)).toContain(reason);
      reasons.set(reason!, (reasons.get(reason!) ?? 0) + 1);
    }
  };
  // The first failure stops every worker, so no request of this test runs into the next one.
  const stopping = () =>
    worker().catch((e: unknown) => {
      next = messages.length;
      throw e;
    });
  await Promise.all(Array.from({ length: CONCURRENCY }, stopping));
  return reasons;
}

function denialsAudited(keyId: string): { decision: string; n: number }[] {
  return t.db.prepare("SELECT decision, COUNT(*) AS n FROM audit_log WHERE key_id = ? AND operation = 'Sign' GROUP BY decision").all(keyId) as {
    decision: string;
    n: number;
  }[];
}

it(
  `${PER_KEY} random and mutated Solana messages: none signed, none reaches the device, all audited as denials`,
  async () => {
    const keyId = await createKeyWithAlias(t, 'ECC_NIST_EDWARDS25519', 'alias/fuzz-solana');
    const signer = new PublicKey(await addressOf(t, keyId, 'solana'));
    const base = new Transaction({ feePayer: signer, recentBlockhash: new PublicKey(new Uint8Array(32).fill(3)).toBase58() })
      .add(SystemProgram.transfer({ fromPubkey: signer, toPubkey: STRANGER_SOLANA, lamports: 5 }))
      .serializeMessage();
    const before = deviceRequests(t);
    const reasons = await hammer('alias/fuzz-solana', 'ED25519_SHA_512', [base, ...mutations(base, PER_KEY - 1, 1)]);
    expect(deviceRequests(t)).toBe(before);
    expect(denialsAudited(keyId)).toEqual([{ decision: 'deny', n: PER_KEY }]);
    // The fuzz reaches past the first check: several decoder codes and the policy's own.
    expect(reasons.get('RECIPIENT_NOT_ALLOWED')).toBeGreaterThan(0);
    expect(reasons.size).toBeGreaterThan(3);
    expect((await fetch(t.url + '/health')).status).toBe(200);
  },
  FUZZ_TIMEOUT_MS,
);

it(
  `${PER_KEY} random and mutated Cosmos SignDocs: none signed, none reaches the device, all audited as denials`,
  async () => {
    const keyId = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/fuzz-cosmos');
    const spki = await publicKeyOf(t, keyId);
    const pubkey = secp256k1.ProjectivePoint.fromHex(spki.subarray(spki.length - 65)).toRawBytes(true);
    const me = await addressOf(t, keyId, 'cosmos');
    const registry = new Registry(defaultRegistryTypes);
    const body = registry.encode({
      typeUrl: '/cosmos.tx.v1beta1.TxBody',
      value: {
        messages: [
          { typeUrl: MsgSend.typeUrl, value: MsgSend.fromPartial({ fromAddress: me, toAddress: STRANGER_COSMOS, amount: [{ denom: 'uatom', amount: '5' }] }) },
        ],
        memo: '',
      },
    });
    const authInfo = makeAuthInfoBytes(
      [{ pubkey: encodePubkey(encodeSecp256k1Pubkey(pubkey)), sequence: 0 }],
      [{ denom: 'uatom', amount: '1' }],
      200_000,
      undefined,
      undefined,
    );
    const base = makeSignBytes(makeSignDoc(body, authInfo, 'cosmoshub-4', 1));
    const before = deviceRequests(t);
    const reasons = await hammer('alias/fuzz-cosmos', 'ECDSA_SHA_256', [base, ...mutations(base, PER_KEY - 1, 2)]);
    expect(deviceRequests(t)).toBe(before);
    expect(denialsAudited(keyId)).toEqual([{ decision: 'deny', n: PER_KEY }]);
    expect(reasons.get('RECIPIENT_NOT_ALLOWED')).toBeGreaterThan(0);
    expect(reasons.size).toBeGreaterThan(2);
    expect((await fetch(t.url + '/health')).status).toBe(200);
  },
  FUZZ_TIMEOUT_MS,
);
