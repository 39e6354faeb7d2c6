import { toBase64 } from '@cosmjs/encoding';
import { secp256k1 } from '@noble/curves/secp256k1';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { signModeToJSON } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { AuthInfo, SignDoc, type SignerInfo, TxBody } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { checkBytes } from '../bytes';
import { fail } from '../errors';
import { parseSpkiOf } from '../spki';
import { checkCoins, messageTypesOf, totalsOf } from './coins';
import { summariseAny } from './messages';
import { decodeCanonical } from './proto';
import type { CosmosDecodeOptions, CosmosSignerInfo, CosmosSummary } from './types';

/** Upper bound on a SignDoc; chains' max_tx_bytes is typically 1 MiB or less (CometBFT default 1048576). */
export const MAX_SIGN_DOC_BYTES = 1 << 20;

const SECP256K1_PUBKEY_TYPE_URL = '/cosmos.crypto.secp256k1.PubKey';

/**
 * Decodes a SIGN_MODE_DIRECT SignDoc (the protobuf whose sha256 a Cosmos key signs) with its
 * TxBody and AuthInfo. Every protobuf level, nested authz messages included, must be in
 * canonical encoding. With `opts.signer` (the key's SPKI) the key must be among the signer infos.
 */
export function decodeCosmosSignDoc(bytes: Uint8Array, opts: CosmosDecodeOptions = {}): CosmosSummary {
  checkBytes('bytes', bytes, MAX_SIGN_DOC_BYTES);
  if (typeof opts !== 'object' || opts === null) fail('INVALID_ARGUMENT', 'opts must be an object');
  const doc = decodeCanonical(SignDoc, bytes, 'SignDoc');
  const body = decodeCanonical(TxBody, doc.bodyBytes, 'TxBody');
  const authInfo = decodeCanonical(AuthInfo, doc.authInfoBytes, 'AuthInfo');

  const signers = authInfo.signerInfos.map(signerInfo);
  let sequence = signers[0]?.sequence ?? null;
  if (opts.signer !== undefined) {
    const { publicKey } = parseSpkiOf(opts.signer, 'secp256k1', 'a Cosmos signer');
    const compressed = toBase64(secp256k1.Point.fromHex(publicKey).toRawBytes(true));
    const mine = signers.find((s) => s.publicKeyTypeUrl === SECP256K1_PUBKEY_TYPE_URL && s.publicKey === compressed);
    if (mine === undefined) fail('COSMOS_NOT_A_SIGNER', 'the signing key is not among the signer infos');
    sequence = mine.sequence;
  }

  const messages = body.messages.map((any) => summariseAny(any));
  const fee = authInfo.fee;
  return {
    chain: 'cosmos',
    signMode: 'direct',
    chainId: doc.chainId,
    accountNumber: doc.accountNumber.toString(),
    sequence,
    signers,
    fee: {
      amount: checkCoins(fee?.amount ?? []),
      gasLimit: (fee?.gasLimit ?? 0n).toString(),
      payer: fee?.payer ?? '',
      granter: fee?.granter ?? '',
    },
    tip: authInfo.tip === undefined ? null : { amount: checkCoins(authInfo.tip.amount), tipper: authInfo.tip.tipper },
    memo: body.memo,
    timeoutHeight: body.timeoutHeight.toString(),
    extensionOptions: [...body.extensionOptions, ...body.nonCriticalExtensionOptions].map((o) => o.typeUrl),
    messages,
    messageTypes: messageTypesOf(messages),
    totals: totalsOf(messages),
  };
}

function signerInfo(info: SignerInfo, index: number): CosmosSignerInfo {
  let publicKey: string | null = null;
  const any = info.publicKey;
  if (any !== undefined) {
    const raw = any.typeUrl === SECP256K1_PUBKEY_TYPE_URL ? decodeCanonical(PubKey, any.value, `signer ${index} public key`).key : any.value;
    publicKey = toBase64(raw);
  }
  const mode = info.modeInfo;
  return {
    publicKeyTypeUrl: any?.typeUrl ?? null,
    publicKey,
    sequence: info.sequence.toString(),
    signMode: mode?.single !== undefined ? signModeToJSON(mode.single.mode) : mode?.multi !== undefined ? 'multi' : null,
  };
}
