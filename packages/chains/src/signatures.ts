import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { equalBytes } from './bytes';
import { DecodeError, fail } from './errors';
import { parseSpki, parseSpkiOf } from './spki';

type EcCurve = typeof secp256k1 | typeof p256;
type EcSignature = ReturnType<EcCurve['Signature']['fromDER']>;

/** AWS KMS ECDSA signatures are ASN.1 DER: SEQUENCE { r INTEGER, s INTEGER }, at most 72 bytes for 256-bit curves. */
const MAX_DER_LENGTH = 72;

function parseDer(curve: EcCurve, der: unknown): EcSignature {
  if (!(der instanceof Uint8Array)) fail('INVALID_ARGUMENT', 'der must be a Uint8Array');
  if (der.length > MAX_DER_LENGTH) fail('SIGNATURE_INVALID', `DER signature is ${der.length} bytes`);
  try {
    // noble's DER parser is strict: minimal lengths and integers, no trailing bytes, r and s in [1, n-1].
    return curve.Signature.fromDER(der);
  } catch (err) {
    throw new DecodeError('SIGNATURE_INVALID', `not a strict DER ECDSA signature: ${(err as Error).message}`);
  }
}

/**
 * The 64-byte `r ‖ s` signature Cosmos SDK chains and cosmjs expect, from a DER ECDSA signature,
 * with s normalised to the lower half of the group order (the SDK rejects high-S signatures).
 * `spki` selects the curve (secp256k1, or P-256 for Cosmos secp256r1 keys); default secp256k1.
 */
export function cosmosSignatureFromDer(der: Uint8Array, spki?: Uint8Array): Uint8Array {
  let curve: EcCurve = secp256k1;
  if (spki !== undefined) {
    const key = parseSpki(spki);
    if (key.type === 'ed25519') fail('KEY_TYPE_MISMATCH', 'Cosmos DER signatures need a secp256k1 or P-256 key');
    curve = key.type === 'p256' ? p256 : secp256k1;
  }
  return parseDer(curve, der).normalizeS().toCompactRawBytes();
}

export interface EthereumSignature {
  /** 32 bytes, big-endian. */
  r: Uint8Array;
  /** 32 bytes, big-endian, always ≤ n/2 (EIP-2). */
  s: Uint8Array;
  /** The recovery bit for typed (EIP-2930/1559) transactions. */
  yParity: 0 | 1;
  /** 27 + yParity, as personal_sign / EIP-712 signatures carry it. Legacy EIP-155 transactions use chainId*2 + 35 + yParity. */
  v: 27 | 28;
  /** r ‖ s ‖ v: the 65-byte form ecrecover-based contracts and wallets use. */
  rsv: Uint8Array;
}

/**
 * An Ethereum signature from a DER secp256k1 signature over `digest`: s is normalised to low-S
 * and the recovery bit found by recovering against the key in `spki`. A signature that recovers to
 * neither candidate is SIGNATURE_KEY_MISMATCH, so a wrong key or digest is never passed on.
 */
export function ethereumSignatureFromDer(der: Uint8Array, digest: Uint8Array, spki: Uint8Array): EthereumSignature {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail('INVALID_ARGUMENT', 'digest must be 32 bytes');
  const { publicKey } = parseSpkiOf(spki, 'secp256k1', 'an Ethereum signature');
  const sig = parseDer(secp256k1, der).normalizeS();
  for (const bit of [0, 1] as const) {
    let recovered: Uint8Array;
    try {
      recovered = sig.addRecoveryBit(bit).recoverPublicKey(digest).toRawBytes(false);
    } catch {
      continue;
    }
    if (!equalBytes(recovered, publicKey)) continue;
    const compact = sig.toCompactRawBytes();
    const v = bit === 0 ? 27 : 28;
    const rsv = new Uint8Array(65);
    rsv.set(compact, 0);
    rsv[64] = v;
    return { r: compact.slice(0, 32), s: compact.slice(32, 64), yParity: bit, v, rsv };
  }
  return fail('SIGNATURE_KEY_MISMATCH', 'the signature does not recover to the given public key for this digest');
}
