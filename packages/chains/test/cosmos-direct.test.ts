// SIGN_MODE_DIRECT SignDocs built by cosmjs (Registry, makeAuthInfoBytes, makeSignDoc, and a full
// SigningStargateClient.sign through an OfflineDirectSigner that goes through the decoder and a
// KMS-style DER signature), verified by cosmjs's Secp256k1.verifySignature.
import { encodeSecp256k1Pubkey, encodeSecp256k1Signature, pubkeyToAddress } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import {
  type EncodeObject,
  type OfflineDirectSigner,
  Registry,
  decodeTxRaw,
  encodePubkey,
  makeAuthInfoBytes,
  makeSignBytes,
  makeSignDoc,
} from '@cosmjs/proto-signing';
import { SigningStargateClient, defaultRegistryTypes } from '@cosmjs/stargate';
import { secp256k1 } from '@noble/curves/secp256k1';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { AuthInfo, SignDoc, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { MsgTransfer } from 'cosmjs-types/ibc/applications/transfer/v1/tx';
import { type CosmosSummary, MAX_EXEC_DEPTH, cosmosSignatureFromDer, decodeCosmosSignDoc, deriveAddress } from '../src';
import { codeOf, fixedSecret, kmsDerSign, spkiFor } from './helpers';

const secret = fixedSecret(100);
const spki = spkiFor('secp256k1', secret);
const compressed = secp256k1.getPublicKey(secret, true);
const address = deriveAddress('cosmos', spki);
const other = deriveAddress('cosmos', spkiFor('secp256k1', fixedSecret(101)));
const contract = deriveAddress('cosmos', spkiFor('secp256k1', fixedSecret(102)), { prefix: 'wasm' });
const registry = new Registry([...defaultRegistryTypes, [MsgExecuteContract.typeUrl, MsgExecuteContract]]);

const send = (from: string, to: string, amount: string, denom = 'uatom'): EncodeObject => ({
  typeUrl: MsgSend.typeUrl,
  value: MsgSend.fromPartial({ fromAddress: from, toAddress: to, amount: [{ denom, amount }] }),
});
const exec = (grantee: string, inner: EncodeObject[]): EncodeObject => ({
  typeUrl: MsgExec.typeUrl,
  value: MsgExec.fromPartial({ grantee, msgs: inner.map((m) => registry.encodeAsAny(m)) }),
});

function signDocBytes(messages: EncodeObject[], memo = '', bodyBytes?: Uint8Array): Uint8Array {
  const body = bodyBytes ?? registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages, memo } });
  const authInfo = makeAuthInfoBytes(
    [{ pubkey: encodePubkey(encodeSecp256k1Pubkey(compressed)), sequence: 7 }],
    [{ denom: 'uatom', amount: '5000' }],
    200_000,
    undefined,
    undefined,
  );
  return makeSignBytes(makeSignDoc(body, authInfo, 'cosmoshub-4', 42));
}

test('the Cosmos address matches cosmjs pubkeyToAddress', () => {
  expect(address).toBe(pubkeyToAddress(encodeSecp256k1Pubkey(compressed), 'cosmos'));
});

test('a MsgSend SignDoc from cosmjs decodes to chain id, account, sequence, fee, memo, amounts', () => {
  const s = decodeCosmosSignDoc(signDocBytes([send(address, other, '1234567')], 'hello'), { signer: spki });
  expect(s).toEqual<CosmosSummary>({
    chain: 'cosmos',
    signMode: 'direct',
    chainId: 'cosmoshub-4',
    accountNumber: '42',
    sequence: '7',
    signers: [
      {
        publicKeyTypeUrl: '/cosmos.crypto.secp256k1.PubKey',
        publicKey: Buffer.from(compressed).toString('base64'),
        sequence: '7',
        signMode: 'SIGN_MODE_DIRECT',
      },
    ],
    fee: { amount: [{ denom: 'uatom', amount: '5000' }], gasLimit: '200000', payer: '', granter: '' },
    tip: null,
    memo: 'hello',
    timeoutHeight: '0',
    extensionOptions: [],
    messages: [{ kind: 'send', typeUrl: MsgSend.typeUrl, from: address, to: other, amount: [{ denom: 'uatom', amount: '1234567' }] }],
    messageTypes: [MsgSend.typeUrl],
    totals: [{ asset: 'uatom', amount: '1234567' }],
  });
});

test('SigningStargateClient signs through a kmsgate-style OfflineDirectSigner, and cosmjs verifies the signature', async () => {
  const decoded: CosmosSummary[] = [];
  const signer: OfflineDirectSigner = {
    getAccounts: async () => [{ address, algo: 'secp256k1', pubkey: compressed }],
    signDirect: async (_addr, signDoc) => {
      const bytes = makeSignBytes(signDoc);
      decoded.push(decodeCosmosSignDoc(bytes, { signer: spki })); // the Decode gate
      const der = kmsDerSign(secp256k1, sha256(bytes), secret); // what the device returns (high-S here)
      return { signed: signDoc, signature: encodeSecp256k1Signature(compressed, cosmosSignatureFromDer(der, spki)) };
    },
  };
  const client = await SigningStargateClient.offline(signer, { registry });
  const txRaw = await client.sign(address, [send(address, other, '99')], { amount: [{ denom: 'uatom', amount: '500' }], gas: '100000' }, 'memo', {
    accountNumber: 42,
    sequence: 3,
    chainId: 'cosmoshub-4',
  });

  expect(decoded).toHaveLength(1);
  expect(decoded[0]).toMatchObject({ chainId: 'cosmoshub-4', sequence: '3', totals: [{ asset: 'uatom', amount: '99' }] });
  const tx = decodeTxRaw(TxRaw.encode(txRaw).finish());
  const signBytes = makeSignBytes(makeSignDoc(txRaw.bodyBytes, txRaw.authInfoBytes, 'cosmoshub-4', 42));
  const sig = tx.signatures[0]!;
  expect(sig).toHaveLength(64);
  expect(BigInt('0x' + Buffer.from(sig.subarray(32)).toString('hex')) <= secp256k1.CURVE.n / 2n).toBe(true);
  expect(await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(sig), sha256(signBytes), compressed)).toBe(true);
});

test('a transfer hidden in authz MsgExec is decoded and counted', () => {
  const bytes = signDocBytes([exec(address, [send(other, contract, '700', 'uosmo'), send(other, address, '5', 'uosmo')]), send(address, other, '1', 'uosmo')]);
  const s = decodeCosmosSignDoc(bytes);
  expect(s.messages[0]).toEqual({
    kind: 'exec',
    typeUrl: MsgExec.typeUrl,
    grantee: address,
    messages: [
      { kind: 'send', typeUrl: MsgSend.typeUrl, from: other, to: contract, amount: [{ denom: 'uosmo', amount: '700' }] },
      { kind: 'send', typeUrl: MsgSend.typeUrl, from: other, to: address, amount: [{ denom: 'uosmo', amount: '5' }] },
    ],
  });
  expect(s.messageTypes).toEqual([MsgExec.typeUrl, MsgSend.typeUrl, MsgSend.typeUrl, MsgSend.typeUrl]);
  expect(s.totals).toEqual([{ asset: 'uosmo', amount: '706' }]);
});

test('MsgExecuteContract: contract, funds, sender, method; IBC MsgTransfer: token; unknown types by URL', () => {
  const msg = { swap: { offer: '100', ask_denom: 'uusdc' } };
  const bytes = signDocBytes([
    {
      typeUrl: MsgExecuteContract.typeUrl,
      value: MsgExecuteContract.fromPartial({
        sender: address,
        contract,
        msg: new TextEncoder().encode(JSON.stringify(msg)),
        funds: [{ denom: 'uatom', amount: '100' }],
      }),
    },
    {
      typeUrl: MsgTransfer.typeUrl,
      value: MsgTransfer.fromPartial({
        sourcePort: 'transfer',
        sourceChannel: 'channel-0',
        token: { denom: 'uatom', amount: '3' },
        sender: address,
        receiver: 'osmo1xyz',
        timeoutTimestamp: 1n,
      }),
    },
    {
      typeUrl: MsgDelegate.typeUrl,
      value: MsgDelegate.fromPartial({ delegatorAddress: address, validatorAddress: 'cosmosvaloper1x', amount: { denom: 'uatom', amount: '10' } }),
    },
  ]);
  const s = decodeCosmosSignDoc(bytes);
  expect(s.messages).toEqual([
    {
      kind: 'execute-contract',
      typeUrl: MsgExecuteContract.typeUrl,
      sender: address,
      contract,
      funds: [{ denom: 'uatom', amount: '100' }],
      msg,
      method: 'swap',
    },
    {
      kind: 'ibc-transfer',
      typeUrl: MsgTransfer.typeUrl,
      sender: address,
      receiver: 'osmo1xyz',
      token: { denom: 'uatom', amount: '3' },
      sourcePort: 'transfer',
      sourceChannel: 'channel-0',
    },
    { kind: 'unknown', typeUrl: MsgDelegate.typeUrl },
  ]);
  expect(s.totals).toEqual([{ asset: 'uatom', amount: '103' }]);
});

test('a contract message that is not JSON is refused (wasmd rejects it too)', () => {
  const bytes = signDocBytes([
    { typeUrl: MsgExecuteContract.typeUrl, value: MsgExecuteContract.fromPartial({ sender: address, contract, msg: new TextEncoder().encode('{not json') }) },
  ]);
  expect(codeOf(() => decodeCosmosSignDoc(bytes))).toBe('COSMOS_MALFORMED');
});

test('MsgExec nested deeper than MAX_EXEC_DEPTH is refused', () => {
  let m = send(other, contract, '1');
  for (let i = 0; i <= MAX_EXEC_DEPTH; i++) m = exec(address, [m]);
  expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([m])))).toBe('COSMOS_NESTING_TOO_DEEP');
});

describe('non-canonical protobuf is refused at every level', () => {
  const unknownField = Uint8Array.from([0xa0, 0x06, 0x01]); // field 100, varint 1
  const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

  test('an unknown field in the SignDoc, TxBody, or inside a MsgSend', () => {
    const bytes = signDocBytes([send(address, other, '1')]);
    expect(codeOf(() => decodeCosmosSignDoc(concat(bytes, unknownField)))).toBe('COSMOS_NON_CANONICAL');

    const body = registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages: [send(address, other, '1')] } });
    expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([], '', concat(body, unknownField))))).toBe('COSMOS_NON_CANONICAL');

    const hidden = TxBody.encode(
      TxBody.fromPartial({
        messages: [
          { typeUrl: MsgSend.typeUrl, value: concat(MsgSend.encode(MsgSend.fromPartial({ fromAddress: address, toAddress: other })).finish(), unknownField) },
        ],
      }),
    ).finish();
    expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([], '', hidden)))).toBe('COSMOS_NON_CANONICAL');
  });

  test('a duplicated field (a second to_address, last one wins in protobuf)', () => {
    const msg = MsgSend.encode(MsgSend.fromPartial({ fromAddress: address, toAddress: other, amount: [{ denom: 'uatom', amount: '1' }] })).finish();
    const secondTo = MsgSend.encode(MsgSend.fromPartial({ toAddress: contract })).finish();
    const body = TxBody.encode(TxBody.fromPartial({ messages: [{ typeUrl: MsgSend.typeUrl, value: concat(msg, secondTo) }] })).finish();
    expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([], '', body)))).toBe('COSMOS_NON_CANONICAL');
  });

  test('truncated and garbage input', () => {
    const bytes = signDocBytes([send(address, other, '1')]);
    expect(codeOf(() => decodeCosmosSignDoc(bytes.subarray(0, bytes.length - 3)))).toMatch(/^COSMOS_(MALFORMED|NON_CANONICAL)$/);
    expect(codeOf(() => decodeCosmosSignDoc(Uint8Array.from([0xff, 0xff, 0xff])))).toBe('COSMOS_MALFORMED');
  });
});

test.each([['01'], ['-5'], [''], ['1.5'], [(1n << 256n).toString()]])('coin amount %j is refused', (amount) => {
  expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([send(address, other, amount)])))).toBe('COSMOS_BAD_COIN');
});

test('a bad denom is refused', () => {
  expect(codeOf(() => decodeCosmosSignDoc(signDocBytes([send(address, other, '1', '__proto__')])))).toBe('COSMOS_BAD_COIN');
});

test('opts.signer: the key must be among the signer infos, and its sequence is reported', () => {
  const body = registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages: [send(address, other, '1')] } });
  const otherKey = secp256k1.getPublicKey(fixedSecret(101), true);
  const authInfo = makeAuthInfoBytes(
    [
      { pubkey: encodePubkey(encodeSecp256k1Pubkey(otherKey)), sequence: 1 },
      { pubkey: encodePubkey(encodeSecp256k1Pubkey(compressed)), sequence: 9 },
    ],
    [],
    100_000,
    undefined,
    undefined,
  );
  const bytes = SignDoc.encode(makeSignDoc(body, authInfo, 'c', 1)).finish();
  expect(decodeCosmosSignDoc(bytes).sequence).toBe('1');
  expect(decodeCosmosSignDoc(bytes, { signer: spki }).sequence).toBe('9');
  expect(codeOf(() => decodeCosmosSignDoc(bytes, { signer: spkiFor('secp256k1', fixedSecret(103)) }))).toBe('COSMOS_NOT_A_SIGNER');
  expect(codeOf(() => decodeCosmosSignDoc(bytes, { signer: spkiFor('ed25519', fixedSecret(103)) }))).toBe('KEY_TYPE_MISMATCH');
});

test('a (deprecated) AuthInfo tip is reported', () => {
  const body = registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages: [] } });
  const authInfo = AuthInfo.encode(
    AuthInfo.fromPartial({ fee: { amount: [], gasLimit: 1n }, tip: { amount: [{ denom: 'uatom', amount: '77' }], tipper: address } }),
  ).finish();
  const s = decodeCosmosSignDoc(SignDoc.encode(makeSignDoc(body, authInfo, 'c', 1)).finish());
  expect(s.tip).toEqual({ amount: [{ denom: 'uatom', amount: '77' }], tipper: address });
});
