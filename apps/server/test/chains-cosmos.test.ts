import { encodeSecp256k1Pubkey, encodeSecp256k1Signature, makeSignDoc as makeAminoSignDoc, pubkeyToAddress, serializeSignDoc } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import {
  type AccountData,
  type DirectSignResponse,
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
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { MsgWithdrawDelegatorReward } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { TxRaw, type SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { secp256k1 } from '@noble/curves/secp256k1';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { addressOf, auditFor, createKeyWithAlias, deviceRequests, publicKeyOf, sign } from './helpers/signing';

/**
 * A Cosmos validator operator's key behind its policy, end to end: cosmjs's own SigningStargateClient
 * signs through an OfflineDirectSigner backed by kmsgate (Sign RAW of the SignDoc bytes, the policy
 * asking for the 64-byte low-S form cosmjs expects), and cosmjs verifies the result.
 */
const CHAIN_ID = 'cosmoshub-4';
const pubkeyOf = (n: number) => secp256k1.getPublicKey(new Uint8Array(32).fill(n), true);
const TREASURY = pubkeyToAddress(encodeSecp256k1Pubkey(pubkeyOf(0x42)), 'cosmos');
const STRANGER = pubkeyToAddress(encodeSecp256k1Pubkey(pubkeyOf(0x17)), 'cosmos');
const VALIDATOR = 'cosmosvaloper1cy0p47z24ejzvq55pu3lesxwf73xnrnd0pzkqm';

const validatorPolicy = (extra: Record<string, unknown> = {}) => ({
  chain: 'cosmos',
  chainIds: [CHAIN_ID],
  messageTypes: [MsgSend.typeUrl, MsgExec.typeUrl, MsgWithdrawDelegatorReward.typeUrl],
  recipients: [TREASURY],
  caps: { uatom: { perTransaction: '1000000', rolling24h: '5000000' } },
  signatureFormat: 'cosmos-raw',
  ...extra,
});

const registry = new Registry(defaultRegistryTypes);
const send = (from: string, to: string, amount: string, denom = 'uatom'): EncodeObject => ({
  typeUrl: MsgSend.typeUrl,
  value: MsgSend.fromPartial({ fromAddress: from, toAddress: to, amount: [{ denom, amount }] }),
});
const exec = (grantee: string, inner: EncodeObject[]): EncodeObject => ({
  typeUrl: MsgExec.typeUrl,
  value: MsgExec.fromPartial({ grantee, msgs: inner.map((m) => registry.encodeAsAny(m)) }),
});
const FEE = { amount: [{ denom: 'uatom', amount: '1000' }], gas: '200000' };

/** cosmjs's OfflineDirectSigner interface, backed by a kmsgate key: the whole client side of the integration. */
class KmsgateDirectSigner implements OfflineDirectSigner {
  constructor(
    private readonly t: TestGateway,
    private readonly keyId: string,
    private readonly address: string,
    private readonly pubkey: Uint8Array,
  ) {}

  async getAccounts(): Promise<readonly AccountData[]> {
    return [{ address: this.address, algo: 'secp256k1', pubkey: this.pubkey }];
  }

  async signDirect(signerAddress: string, signDoc: SignDoc): Promise<DirectSignResponse> {
    if (signerAddress !== this.address) throw new Error(`unknown signer ${signerAddress}`);
    const out = await sign(this.t, this.keyId, makeSignBytes(signDoc));
    if (!out.signature) throw new Error(`kmsgate refused: ${out.error?.type} ${out.error?.message}`);
    return { signed: signDoc, signature: encodeSecp256k1Signature(this.pubkey, out.signature) };
  }
}

let t: TestGateway;
let keyId: string;
let address: string;
let pubkey: Uint8Array;
let sequence = 0;

beforeAll(async () => {
  t = await startTestGateway({
    policies: {
      'alias/cosmos-validator': validatorPolicy(),
      'alias/cosmos-amino': validatorPolicy({ signModes: ['direct', 'amino-json'], signatureFormat: 'der' }),
    },
  });
  keyId = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/cosmos-validator');
  const spki = await publicKeyOf(t, keyId);
  pubkey = Secp256k1.compressPubkey(spki.subarray(spki.length - 65));
  address = await addressOf(t, keyId, 'cosmos');
});
afterAll(async () => {
  await t.stop();
});

function signDocBytes(messages: EncodeObject[], opts: { fee?: string; chainId?: string; signerPubkey?: Uint8Array } = {}): Uint8Array {
  const body = registry.encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages, memo: '' } });
  const authInfo = makeAuthInfoBytes(
    [{ pubkey: encodePubkey(encodeSecp256k1Pubkey(opts.signerPubkey ?? pubkey)), sequence: sequence++ }],
    [{ denom: 'uatom', amount: opts.fee ?? '1000' }],
    200_000,
    undefined,
    undefined,
  );
  return makeSignBytes(makeSignDoc(body, authInfo, opts.chainId ?? CHAIN_ID, 7));
}

it('DeriveAddress gives the address cosmjs derives from the GetPublicKey key', () => {
  expect(address).toBe(pubkeyToAddress(encodeSecp256k1Pubkey(pubkey), 'cosmos'));
});

it('SigningStargateClient signs a MsgSend through the kmsgate OfflineDirectSigner, and cosmjs verifies it', async () => {
  const client = await SigningStargateClient.offline(new KmsgateDirectSigner(t, 'alias/cosmos-validator', address, pubkey));
  const txRaw = await client.sign(address, [send(address, TREASURY, '250000')], FEE, 'rebalance', { accountNumber: 7, sequence: 3, chainId: CHAIN_ID });
  expect(txRaw.signatures).toHaveLength(1);
  expect(txRaw.signatures[0]).toHaveLength(64);
  const signBytes = makeSignBytes(makeSignDoc(txRaw.bodyBytes, txRaw.authInfoBytes, CHAIN_ID, 7));
  const signature = Secp256k1Signature.fromFixedLength(txRaw.signatures[0]!);
  expect(await Secp256k1.verifySignature(signature, sha256(signBytes), pubkey)).toBe(true);
  // Low-S, as the Cosmos SDK requires.
  expect(signature.s()[0]! < 0x80).toBe(true);
  expect(decodeTxRaw(TxRaw.encode(txRaw).finish()).body.memo).toBe('rebalance');
  // And the same bytes with one bit changed do not verify.
  const tampered = Uint8Array.from(signBytes);
  tampered[tampered.length - 1]! ^= 1;
  expect(await Secp256k1.verifySignature(signature, sha256(tampered), pubkey)).toBe(false);
});

it('amino JSON where the policy allows it: a DER signature over sha256 of the canonical JSON', async () => {
  const id = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/cosmos-amino');
  const spki = await publicKeyOf(t, id);
  const pk = Secp256k1.compressPubkey(spki.subarray(spki.length - 65));
  const me = await addressOf(t, id, 'cosmos');
  const doc = makeAminoSignDoc(
    [{ type: 'cosmos-sdk/MsgSend', value: { from_address: me, to_address: TREASURY, amount: [{ denom: 'uatom', amount: '5000' }] } }],
    FEE,
    CHAIN_ID,
    '',
    7,
    0,
  );
  const bytes = serializeSignDoc(doc);
  const out = await sign(t, 'alias/cosmos-amino', bytes);
  expect(out.status).toBe(200);
  expect(await Secp256k1.verifySignature(Secp256k1Signature.fromDer(out.signature!), sha256(bytes), pk)).toBe(true);
  // The validator key's policy lists only SIGN_MODE_DIRECT.
  expect((await sign(t, 'alias/cosmos-validator', bytes)).error).toMatchObject({ reason: 'SIGN_MODE_NOT_ALLOWED' });
});

describe('denied, never reaching the device', () => {
  const denied = async (message: Uint8Array, reason: string, opts: { messageType?: 'DIGEST' } = {}) => {
    const before = deviceRequests(t);
    const out = await sign(t, 'alias/cosmos-validator', message, opts);
    expect(out.error).toMatchObject({ type: 'AccessDeniedException', reason });
    expect(deviceRequests(t)).toBe(before);
    expect(auditFor(t, keyId).at(-1)).toMatchObject({ decision: 'deny', reason });
  };

  it('a MsgSend hidden in authz MsgExec is checked like a top-level one: recipient and amount', async () => {
    // The same MsgExec to the treasury, within the cap, is signed.
    expect((await sign(t, 'alias/cosmos-validator', signDocBytes([exec(address, [send(TREASURY, TREASURY, '1000')])]))).status).toBe(200);
    await denied(signDocBytes([exec(address, [send(TREASURY, STRANGER, '1')])]), 'RECIPIENT_NOT_ALLOWED');
    await denied(signDocBytes([exec(address, [send(address, TREASURY, '600000'), send(address, TREASURY, '400000')])]), 'PER_TX_CAP_EXCEEDED');
  });

  it('one uatom over the per-transaction cap, fee included (the cap itself passes)', async () => {
    expect((await sign(t, 'alias/cosmos-validator', signDocBytes([send(address, TREASURY, '999000')], { fee: '1000' }))).status).toBe(200);
    await denied(signDocBytes([send(address, TREASURY, '999001')], { fee: '1000' }), 'PER_TX_CAP_EXCEEDED');
  });

  it('another chain, a message type that is not listed, a denom without a cap', async () => {
    await denied(signDocBytes([send(address, TREASURY, '1')], { chainId: 'osmosis-1' }), 'CHAIN_ID_NOT_ALLOWED');
    const delegate: EncodeObject = {
      typeUrl: MsgDelegate.typeUrl,
      value: MsgDelegate.fromPartial({ delegatorAddress: address, validatorAddress: VALIDATOR, amount: { denom: 'uatom', amount: '1' } }),
    };
    await denied(signDocBytes([delegate]), 'TYPE_URL_NOT_ALLOWED');
    await denied(signDocBytes([send(address, TREASURY, '1', 'uosmo')]), 'ASSET_NOT_ALLOWED');
  });

  it('a SignDoc for another key, a DIGEST, bytes that are no SignDoc', async () => {
    await denied(signDocBytes([send(address, TREASURY, '1')], { signerPubkey: pubkeyOf(0x42) }), 'COSMOS_NOT_A_SIGNER');
    await denied(new Uint8Array(32).fill(1), 'DIGEST_NOT_ALLOWED', { messageType: 'DIGEST' });
    await denied(new Uint8Array([0x0a, 0xff, 0xff]), 'COSMOS_MALFORMED');
  });

  it('the validator chores the policy lists are signed', async () => {
    const withdraw: EncodeObject = {
      typeUrl: MsgWithdrawDelegatorReward.typeUrl,
      value: MsgWithdrawDelegatorReward.fromPartial({ delegatorAddress: address, validatorAddress: VALIDATOR }),
    };
    expect((await sign(t, 'alias/cosmos-validator', signDocBytes([withdraw]))).status).toBe(200);
  });
});
