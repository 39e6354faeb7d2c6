// Legacy amino JSON sign docs built by cosmjs (AminoTypes, makeSignDoc, serializeSignDoc, and a
// SigningStargateClient.sign through an OfflineAminoSigner), decoded and verified with cosmjs.
import { type AminoMsg, type OfflineAminoSigner, type StdSignDoc, encodeSecp256k1Signature, makeSignDoc, serializeSignDoc } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { AminoTypes, SigningStargateClient, createDefaultAminoConverters } from '@cosmjs/stargate';
import { secp256k1 } from '@noble/curves/secp256k1';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { type CosmosSummary, cosmosSignatureFromDer, decodeCosmosAminoSignDoc, deriveAddress } from '../src';
import { codeOf, fixedSecret, kmsDerSign, spkiFor } from './helpers';

const secret = fixedSecret(200);
const spki = spkiFor('secp256k1', secret);
const compressed = secp256k1.getPublicKey(secret, true);
const address = deriveAddress('cosmos', spki);
const other = deriveAddress('cosmos', spkiFor('secp256k1', fixedSecret(201)));
const aminoTypes = new AminoTypes(createDefaultAminoConverters());
const fee = { amount: [{ denom: 'uatom', amount: '2500' }], gas: '100000' };

const sendAmino = (from: string, to: string, amount: string, denom = 'uatom'): AminoMsg =>
  aminoTypes.toAmino({
    typeUrl: MsgSend.typeUrl,
    value: MsgSend.fromPartial({ fromAddress: from, toAddress: to, amount: [{ denom, amount }] }),
  });
const docBytes = (msgs: AminoMsg[], memo = '') => serializeSignDoc(makeSignDoc(msgs, fee, 'cosmoshub-4', memo, 42, 8));
const utf8 = (s: string) => new TextEncoder().encode(s);

test('an amino MsgSend sign doc from cosmjs decodes, with <>& in the memo escaped as cosmjs does', () => {
  const memo = 'pay <bob> & co';
  const s = decodeCosmosAminoSignDoc(docBytes([sendAmino(address, other, '31337')], memo));
  expect(s).toEqual<CosmosSummary>({
    chain: 'cosmos',
    signMode: 'amino-json',
    chainId: 'cosmoshub-4',
    accountNumber: '42',
    sequence: '8',
    signers: [],
    fee: { amount: [{ denom: 'uatom', amount: '2500' }], gasLimit: '100000', payer: '', granter: '' },
    tip: null,
    memo,
    timeoutHeight: '0',
    extensionOptions: [],
    messages: [
      { kind: 'send', typeUrl: MsgSend.typeUrl, aminoType: 'cosmos-sdk/MsgSend', from: address, to: other, amount: [{ denom: 'uatom', amount: '31337' }] },
    ],
    messageTypes: [MsgSend.typeUrl],
    totals: [{ asset: 'uatom', amount: '31337' }],
  });
});

test('SigningStargateClient signs through a kmsgate-style OfflineAminoSigner, and cosmjs verifies the signature', async () => {
  const decoded: CosmosSummary[] = [];
  const signer: OfflineAminoSigner = {
    getAccounts: async () => [{ address, algo: 'secp256k1', pubkey: compressed }],
    signAmino: async (_addr, signDoc: StdSignDoc) => {
      const bytes = serializeSignDoc(signDoc);
      decoded.push(decodeCosmosAminoSignDoc(bytes));
      const der = kmsDerSign(secp256k1, sha256(bytes), secret);
      return { signed: signDoc, signature: encodeSecp256k1Signature(compressed, cosmosSignatureFromDer(der, spki)) };
    },
  };
  const client = await SigningStargateClient.offline(signer);
  const send = { typeUrl: MsgSend.typeUrl, value: MsgSend.fromPartial({ fromAddress: address, toAddress: other, amount: [{ denom: 'uatom', amount: '12' }] }) };
  const txRaw = await client.sign(address, [send], fee, 'x', { accountNumber: 42, sequence: 8, chainId: 'cosmoshub-4' });

  expect(decoded[0]).toMatchObject({ signMode: 'amino-json', sequence: '8', totals: [{ asset: 'uatom', amount: '12' }] });
  const signBytes = docBytes([sendAmino(address, other, '12')], 'x');
  const ok = await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(txRaw.signatures[0]!), sha256(signBytes), compressed);
  expect(ok).toBe(true);
  expect(txRaw.signatures[0]).toHaveLength(64);
});

test('authz MsgExec, wasm MsgExecuteContract and unknown amino types', () => {
  const exec: AminoMsg = { type: 'cosmos-sdk/MsgExec', value: { grantee: address, msgs: [sendAmino(other, address, '40', 'uosmo')] } };
  const wasm: AminoMsg = {
    type: 'wasm/MsgExecuteContract',
    value: { sender: address, contract: other, msg: { withdraw: {} }, funds: [{ denom: 'uosmo', amount: '2' }] },
  };
  const delegate = aminoTypes.toAmino({
    typeUrl: MsgDelegate.typeUrl,
    value: MsgDelegate.fromPartial({ delegatorAddress: address, validatorAddress: 'cosmosvaloper1x', amount: { denom: 'uatom', amount: '5' } }),
  });
  const s = decodeCosmosAminoSignDoc(docBytes([exec, wasm, delegate]));
  expect(s.messages).toEqual([
    {
      kind: 'exec',
      typeUrl: '/cosmos.authz.v1beta1.MsgExec',
      aminoType: 'cosmos-sdk/MsgExec',
      grantee: address,
      messages: [
        { kind: 'send', typeUrl: MsgSend.typeUrl, aminoType: 'cosmos-sdk/MsgSend', from: other, to: address, amount: [{ denom: 'uosmo', amount: '40' }] },
      ],
    },
    {
      kind: 'execute-contract',
      typeUrl: '/cosmwasm.wasm.v1.MsgExecuteContract',
      aminoType: 'wasm/MsgExecuteContract',
      sender: address,
      contract: other,
      funds: [{ denom: 'uosmo', amount: '2' }],
      msg: { withdraw: {} },
      method: 'withdraw',
    },
    { kind: 'unknown', typeUrl: null, aminoType: 'cosmos-sdk/MsgDelegate' },
  ]);
  expect(s.messageTypes).toEqual(['/cosmos.authz.v1beta1.MsgExec', MsgSend.typeUrl, '/cosmwasm.wasm.v1.MsgExecuteContract', 'amino:cosmos-sdk/MsgDelegate']);
  expect(s.totals).toEqual([{ asset: 'uosmo', amount: '42' }]);
});

describe('refused', () => {
  const doc = makeSignDoc([sendAmino(address, other, '1')], fee, 'cosmoshub-4', 'a<b', 42, 8);

  test.each([
    ['pretty-printed', utf8(JSON.stringify(doc, null, 2)), 'COSMOS_AMINO_NON_CANONICAL'],
    ['unsorted keys', utf8(JSON.stringify(doc)), 'COSMOS_AMINO_NON_CANONICAL'],
    ['a trailing newline', utf8(new TextDecoder().decode(serializeSignDoc(doc)) + '\n'), 'COSMOS_AMINO_NON_CANONICAL'],
    ['an unknown top-level key', serializeSignDoc({ ...doc, extra: '1' } as StdSignDoc), 'COSMOS_AMINO_MALFORMED'],
    ['a number sequence', serializeSignDoc({ ...doc, sequence: 8 } as unknown as StdSignDoc), 'COSMOS_AMINO_MALFORMED'],
    ['a sequence with a leading zero', serializeSignDoc({ ...doc, sequence: '08' }), 'COSMOS_AMINO_MALFORMED'],
    ['msgs not an array', serializeSignDoc({ ...doc, msgs: {} } as unknown as StdSignDoc), 'COSMOS_AMINO_MALFORMED'],
    [
      'a MsgSend without to_address',
      serializeSignDoc({ ...doc, msgs: [{ type: 'cosmos-sdk/MsgSend', value: { from_address: address, amount: [] } }] }),
      'COSMOS_AMINO_MALFORMED',
    ],
    [
      'a message with a key besides type and value',
      serializeSignDoc({ ...doc, msgs: [{ ...sendAmino(address, other, '1'), extra: 1 } as AminoMsg] }),
      'COSMOS_AMINO_MALFORMED',
    ],
    ['a negative amount', serializeSignDoc({ ...doc, msgs: [sendAmino(address, other, '-1')] }), 'COSMOS_BAD_COIN'],
    ['a fee with an unknown key', serializeSignDoc({ ...doc, fee: { ...fee, tip: '1' } as never }), 'COSMOS_AMINO_MALFORMED'],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d]), 'COSMOS_AMINO_MALFORMED'],
    ['not JSON', utf8('{"a":'), 'COSMOS_AMINO_MALFORMED'],
    ['a JSON array', utf8('[]'), 'COSMOS_AMINO_MALFORMED'],
  ] as const)('%s', (_name, bytes, code) => {
    expect(codeOf(() => decodeCosmosAminoSignDoc(bytes))).toBe(code);
  });

  test('a duplicate key (JSON.parse keeps the last one) does not survive the canonical check', () => {
    const canonical = new TextDecoder().decode(serializeSignDoc(doc));
    const dup = canonical.replace('"chain_id":"cosmoshub-4"', '"chain_id":"other-1","chain_id":"cosmoshub-4"');
    expect(dup).not.toBe(canonical);
    expect(codeOf(() => decodeCosmosAminoSignDoc(utf8(dup)))).toBe('COSMOS_AMINO_NON_CANONICAL');
  });
});
