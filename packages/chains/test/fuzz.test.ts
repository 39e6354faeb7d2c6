// Deterministic fuzzing of every decoder: random byte strings and mutations (truncate, flip,
// append, insert, delete, duplicate) of valid messages built by the real client libraries. Every
// input either decodes to a self-consistent summary or throws DecodeError with a listed code —
// never another exception. Counts are kept small enough that the whole file runs in a few seconds.
import { encodeSecp256k1Pubkey, makeSignDoc as makeAminoSignDoc, serializeSignDoc } from '@cosmjs/amino';
import { Registry, encodePubkey, makeAuthInfoBytes, makeSignBytes, makeSignDoc } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { secp256k1 } from '@noble/curves/secp256k1';
import { AddressLookupTableAccount, Keypair, SystemProgram, TransactionMessage } from '@solana/web3.js';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { Interface, Transaction, TypedDataEncoder, concat, getBytes, keccak256 } from 'ethers';
import {
  type CosmosMessage,
  type CosmosSummary,
  DECODE_ERROR_CODES,
  DecodeError,
  cosmosSignatureFromDer,
  decodeCosmosAminoSignDoc,
  decodeCosmosSignDoc,
  decodeEip712,
  decodeEthereumTransaction,
  decodeSolanaMessage,
  deriveAddress,
} from '../src';
import { fixedSecret, kmsDerSign, prng, randomBytes, spkiFor } from './helpers';
import { spl } from './spl-token';
import vectors from './vectors/eip712.json';

const RANDOM_INPUTS = 1500;
const MUTATIONS_PER_SEED = 700;

type Outcome = { decoded: number; refused: Map<string, number> };

/** Feeds `inputs` to `decode`; checks each result with `check`; returns how many decoded and the codes seen. */
function run(inputs: Iterable<Uint8Array>, decode: (b: Uint8Array) => unknown, check: (summary: never, input: Uint8Array) => void): Outcome {
  const outcome: Outcome = { decoded: 0, refused: new Map() };
  for (const input of inputs) {
    let summary: unknown;
    try {
      summary = decode(input);
    } catch (err) {
      if (!(err instanceof DecodeError) || !(err.code in DECODE_ERROR_CODES)) {
        throw new Error(`input 0x${Buffer.from(input).toString('hex')} threw ${String(err)}`);
      }
      outcome.refused.set(err.code, (outcome.refused.get(err.code) ?? 0) + 1);
      continue;
    }
    outcome.decoded++;
    expect(() => JSON.stringify(summary)).not.toThrow();
    check(summary as never, input);
  }
  if (process.env.FUZZ_REPORT) console.log(outcome.decoded, [...outcome.refused]);
  return outcome;
}

function* randomInputs(seed: number, maxLength: number): Generator<Uint8Array> {
  const rand = prng(seed);
  for (let i = 0; i < RANDOM_INPUTS; i++) yield randomBytes(rand, Math.floor(rand() * maxLength));
}

function* mutations(seed: number, valid: Uint8Array[]): Generator<Uint8Array> {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  for (const v of valid) {
    for (let i = 0; i < MUTATIONS_PER_SEED; i++) {
      const b = Array.from(v);
      switch (i % 6) {
        case 0:
          b.length = int(b.length);
          break; // truncate
        case 1:
          for (let k = 0, n = 1 + int(3); k < n; k++) {
            const p = int(b.length);
            b[p] = b[p]! ^ (1 + int(255));
          }
          break; // flip
        case 2:
          b.push(...randomBytes(rand, 1 + int(16)));
          break; // append
        case 3:
          b.splice(int(b.length + 1), 0, int(256));
          break; // insert
        case 4:
          b.splice(int(b.length), 1 + int(8));
          break; // delete
        case 5: {
          const p = int(b.length);
          b.splice(p, 0, ...b.slice(p, p + 1 + int(40)));
          break;
        } // duplicate a slice
      }
      yield Uint8Array.from(b);
    }
  }
}

const all = (seed: number, maxLength: number, valid: Uint8Array[]) => [...valid, ...randomInputs(seed, maxLength), ...mutations(seed + 1, valid)];

// ---- Solana ----
const key = (n: number) => Keypair.fromSeed(fixedSecret(700 + n)).publicKey;
const payer = key(0);
const tableKey = key(9);
const tableAddresses = [key(1), key(2), key(3), key(4)];
const blockhash = key(8).toBase58();
const solanaInstructions = [
  SystemProgram.transfer({ fromPubkey: payer, toPubkey: key(1), lamports: 10n }),
  spl.createTransferInstruction(key(5), key(6), payer, 3n),
  spl.createTransferCheckedInstruction(key(5), key(2), key(3), payer, 4n, 6),
];
const solanaValid = [
  new TransactionMessage({ payerKey: payer, recentBlockhash: blockhash, instructions: solanaInstructions }).compileToLegacyMessage().serialize(),
  new TransactionMessage({ payerKey: payer, recentBlockhash: blockhash, instructions: solanaInstructions })
    .compileToV0Message([
      new AddressLookupTableAccount({
        key: tableKey,
        state: { deactivationSlot: 0n, lastExtendedSlot: 0, lastExtendedSlotStartIndex: 0, addresses: tableAddresses },
      }),
    ])
    .serialize(),
].map((b) => Uint8Array.from(b));
const lookupTables = { [tableKey.toBase58()]: tableAddresses.map((a) => a.toBase58()) };

test('Solana: random and mutated messages', () => {
  const out = run(
    all(1, 400, solanaValid),
    (b) => decodeSolanaMessage(b, { signer: payer.toBase58(), lookupTables }),
    (s: ReturnType<typeof decodeSolanaMessage>) => {
      expect(s.signers).toContain(payer.toBase58());
      const lamports = s.instructions.reduce((sum, ix) => sum + (ix.kind === 'system-transfer' ? BigInt(ix.lamports) : 0n), 0n);
      expect(s.totals.lamports).toBe(lamports.toString());
      const addresses = new Set(s.accounts.map((a) => a.address));
      expect(addresses.size).toBe(s.accounts.length);
      for (const ix of s.instructions) {
        expect(addresses.has(ix.programId)).toBe(true);
        for (const a of ix.kind === 'other' ? ix.accounts : []) expect(addresses.has(a)).toBe(true);
      }
    },
  );
  expect(out.decoded).toBeGreaterThan(solanaValid.length); // some mutations (e.g. flipped amounts) still decode
  expect(out.refused.size).toBeGreaterThan(4);
});

// ---- Cosmos ----
const cosmosSecret = fixedSecret(800);
const cosmosSpki = spkiFor('secp256k1', cosmosSecret);
const from = deriveAddress('cosmos', cosmosSpki);
const to = deriveAddress('cosmos', spkiFor('secp256k1', fixedSecret(801)));
const registry = new Registry([...defaultRegistryTypes, [MsgExecuteContract.typeUrl, MsgExecuteContract]]);
const sendMsg = { typeUrl: MsgSend.typeUrl, value: MsgSend.fromPartial({ fromAddress: from, toAddress: to, amount: [{ denom: 'uatom', amount: '1000' }] }) };
const cosmosMessages = [
  sendMsg,
  { typeUrl: MsgExec.typeUrl, value: MsgExec.fromPartial({ grantee: from, msgs: [registry.encodeAsAny(sendMsg)] }) },
  {
    typeUrl: MsgExecuteContract.typeUrl,
    value: MsgExecuteContract.fromPartial({ sender: from, contract: to, msg: new TextEncoder().encode('{"a":{}}'), funds: [{ denom: 'uosmo', amount: '5' }] }),
  },
];
const directValid = [
  makeSignBytes(
    makeSignDoc(
      registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages: cosmosMessages, memo: 'm' } }),
      makeAuthInfoBytes(
        [{ pubkey: encodePubkey(encodeSecp256k1Pubkey(secp256k1.getPublicKey(cosmosSecret, true))), sequence: 1 }],
        [{ denom: 'uatom', amount: '10' }],
        100_000,
        undefined,
        undefined,
      ),
      'chain-1',
      5,
    ),
  ),
];
const aminoValid = [
  serializeSignDoc(
    makeAminoSignDoc(
      [
        { type: 'cosmos-sdk/MsgSend', value: { from_address: from, to_address: to, amount: [{ denom: 'uatom', amount: '7' }] } },
        {
          type: 'cosmos-sdk/MsgExec',
          value: {
            grantee: from,
            msgs: [{ type: 'cosmos-sdk/MsgSend', value: { from_address: to, to_address: from, amount: [{ denom: 'uatom', amount: '3' }] } }],
          },
        },
      ],
      { amount: [{ denom: 'uatom', amount: '1' }], gas: '9' },
      'chain-1',
      'memo <&>',
      5,
      1,
    ),
  ),
];

/** Recomputes the totals from the messages, independently of the decoder's own walk. */
function cosmosTotals(messages: CosmosMessage[], into = new Map<string, bigint>()): Map<string, bigint> {
  const add = (coins: { denom: string; amount: string }[]) => coins.forEach((c) => into.set(c.denom, (into.get(c.denom) ?? 0n) + BigInt(c.amount)));
  for (const m of messages) {
    if (m.kind === 'send') add(m.amount);
    if (m.kind === 'multi-send') m.inputs.forEach((i) => add(i.coins));
    if (m.kind === 'execute-contract') add(m.funds);
    if (m.kind === 'ibc-transfer') add([m.token]);
    if (m.kind === 'exec') cosmosTotals(m.messages, into);
  }
  return into;
}
const checkCosmos = (s: CosmosSummary) => {
  expect(new Map(s.totals.map((t) => [t.asset, BigInt(t.amount)]))).toEqual(cosmosTotals(s.messages));
  expect(s.messageTypes.length).toBeGreaterThanOrEqual(s.messages.length);
};

test('Cosmos direct: random and mutated SignDocs', () => {
  const out = run(all(3, 600, directValid), (b) => decodeCosmosSignDoc(b), checkCosmos);
  expect(out.decoded).toBeGreaterThanOrEqual(1);
  expect(out.refused.get('COSMOS_NON_CANONICAL')).toBeGreaterThan(0);
  expect(out.refused.get('COSMOS_MALFORMED')).toBeGreaterThan(0);
});

test('Cosmos amino: random and mutated sign docs', () => {
  const out = run(all(5, 400, aminoValid), (b) => decodeCosmosAminoSignDoc(b), checkCosmos);
  expect(out.decoded).toBeGreaterThanOrEqual(1);
  expect(out.refused.get('COSMOS_AMINO_MALFORMED')).toBeGreaterThan(0);
});

// ---- Ethereum ----
const erc20 = new Interface(['function transfer(address to, uint256 amount)']);
const token = deriveAddress('ethereum', spkiFor('secp256k1', fixedSecret(900)));
const ethValid = [
  Transaction.from({
    type: 2,
    chainId: 1,
    nonce: 3,
    to: token,
    gasLimit: 60_000n,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 10n ** 9n,
    data: erc20.encodeFunctionData('transfer', [token, 10n ** 20n]),
  }),
  Transaction.from({ type: 0, chainId: 56, nonce: 0, to: token, value: 10n ** 18n, gasLimit: 21_000n, gasPrice: 5n * 10n ** 9n }),
  Transaction.from({
    type: 1,
    chainId: 10,
    nonce: 9,
    to: token,
    gasLimit: 30_000n,
    gasPrice: 1n,
    accessList: [{ address: token, storageKeys: ['0x' + '00'.repeat(31) + '01'] }],
  }),
].map((tx) => getBytes(tx.unsignedSerialized));

test('Ethereum transactions: random and mutated', () => {
  const out = run(all(7, 300, ethValid), decodeEthereumTransaction, (s: ReturnType<typeof decodeEthereumTransaction>, input) => {
    expect(s.signingHash).toBe(keccak256(input));
    if (s.call.kind === 'erc20-transfer') expect(s.call.token).toBe(s.to);
    expect(s.totals.wei).toBe(s.value);
  });
  expect(out.decoded).toBeGreaterThan(ethValid.length);
  expect(out.refused.size).toBeGreaterThan(2);
});

// ---- EIP-712 ----
const permit = TypedDataEncoder.getPayload(
  { name: 'Token', version: '1', chainId: 1, verifyingContract: token },
  {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  },
  { owner: token, spender: token, value: 5n, nonce: 0, deadline: 1 },
);
const eip712Valid = [JSON.stringify(permit), JSON.stringify(vectors.cases[0]!.typedData)].map((s) => new TextEncoder().encode(s));

test('EIP-712: random and mutated JSON', () => {
  const out = run(all(9, 300, eip712Valid), decodeEip712, (s: ReturnType<typeof decodeEip712>) => {
    const structHash = TypedDataEncoder.from(s.types).hash(s.message);
    expect(s.digest).toBe(keccak256(concat(['0x1901', s.domainSeparator, structHash])));
  });
  expect(out.decoded).toBeGreaterThanOrEqual(eip712Valid.length);
  expect(out.refused.get('EIP712_MALFORMED')).toBeGreaterThan(0);
});

// ---- Keys and signatures ----
test('SPKI and DER inputs: random and mutated', () => {
  const spkis = [spkiFor('secp256k1', fixedSecret(950)), spkiFor('ed25519', fixedSecret(950)), spkiFor('p256', fixedSecret(950))];
  run(
    all(11, 100, spkis),
    (b) =>
      ['ethereum', 'solana', 'cosmos'].map((chain) => {
        try {
          return deriveAddress(chain as 'ethereum', b);
        } catch (err) {
          if (err instanceof DecodeError && err.code === 'KEY_TYPE_MISMATCH') return null;
          throw err;
        }
      }),
    () => undefined,
  );
  const digest = new Uint8Array(32).fill(7);
  const ders = [kmsDerSign(secp256k1, digest, fixedSecret(951)), kmsDerSign(secp256k1, digest, fixedSecret(952), false)];
  run(
    all(13, 80, ders),
    (b) => cosmosSignatureFromDer(b, spkis[0]),
    (sig: Uint8Array) => expect(sig).toHaveLength(64),
  );
});

// ---- Pathological nesting: refused with a DecodeError, never a stack overflow escaping ----
test('deeply nested protobuf and JSON', () => {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  // ModeInfo { multi: ModeInfo_Multi { mode_infos: [ModeInfo { multi: … }] } }, both fields tag 0x12, 50,000 levels.
  const lengths = [0];
  for (let k = 1; k <= 50_000; k++) lengths.push(lengths[k - 1]! + 1 + varint(lengths[k - 1]!).length);
  const modeInfo: number[] = [];
  for (let k = lengths.length - 1; k >= 1; k--) modeInfo.push(0x12, ...varint(lengths[k - 1]!));
  const signerInfo = [0x12, ...varint(modeInfo.length), ...modeInfo];
  const authInfo = Uint8Array.from([0x0a, ...varint(signerInfo.length), ...signerInfo]);
  const doc = SignDoc.encode(SignDoc.fromPartial({ bodyBytes: new Uint8Array(), authInfoBytes: authInfo, chainId: 'c' })).finish();
  const outcome = run(
    [doc],
    (b) => decodeCosmosSignDoc(b),
    () => {
      throw new Error('decoded');
    },
  );
  expect(outcome.refused.get('COSMOS_MALFORMED')).toBe(1);

  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const amino = `{"account_number":"1","chain_id":"c","fee":{"amount":[],"gas":"1"},"memo":"","msgs":[{"type":"wasm/MsgExecuteContract","value":{"msg":${deep}}}],"sequence":"1"}`;
  expect(run([new TextEncoder().encode(amino)], decodeCosmosAminoSignDoc, () => undefined).refused.get('COSMOS_AMINO_MALFORMED')).toBe(1);
  const typed = `{"types":{"T":[{"name":"a","type":"string"}]},"primaryType":"T","domain":{},"message":{"a":"x","b":${deep}}}`;
  expect(run([new TextEncoder().encode(typed)], decodeEip712, () => undefined).refused.get('EIP712_MALFORMED')).toBe(1);
});
