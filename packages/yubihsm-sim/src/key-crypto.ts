// Asymmetric key operations for the algorithms the simulator can hold. One table maps each YubiHSM
// algorithm code to its curve; the command handlers never branch on curves themselves.
import { randomBytes } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { Algorithm } from '@kmsgate/yubihsm';

type WeierstrassCurve = typeof p256;

interface EcSpec {
  readonly kind: 'ecdsa';
  readonly curve: WeierstrassCurve;
  /** Coordinate / scalar size in bytes (yubihsm.h: 32 for P-256, 66 for P-521). */
  readonly size: number;
}

interface EdSpec {
  readonly kind: 'eddsa';
  readonly size: 32;
}

export type KeySpec = EcSpec | EdSpec;

/** The asymmetric algorithms GENERATE_ASYMMETRIC_KEY accepts here. RSA, Brainpool and P-224 are not simulated. */
export const KEY_SPECS: ReadonlyMap<number, KeySpec> = new Map<number, KeySpec>([
  [Algorithm.EC_P256, { kind: 'ecdsa', curve: p256, size: 32 }],
  [Algorithm.EC_P384, { kind: 'ecdsa', curve: p384, size: 48 }],
  [Algorithm.EC_P521, { kind: 'ecdsa', curve: p521, size: 66 }],
  [Algorithm.EC_K256, { kind: 'ecdsa', curve: secp256k1 as WeierstrassCurve, size: 32 }],
  [Algorithm.EC_ED25519, { kind: 'eddsa', size: 32 }],
]);

export function keySpec(algorithm: number): KeySpec | undefined {
  return KEY_SPECS.get(algorithm);
}

export function generateSecret(spec: KeySpec): Uint8Array {
  if (spec.kind === 'eddsa') return new Uint8Array(randomBytes(32));
  return spec.curve.utils.randomSecretKey();
}

/** GET_PUBLIC_KEY body: X || Y without the 0x04 prefix for EC, the 32-byte point A for Ed25519. */
export function publicKeyOf(spec: KeySpec, secret: Uint8Array): Uint8Array {
  if (spec.kind === 'eddsa') return ed25519.getPublicKey(secret);
  return spec.curve.getPublicKey(secret, false).subarray(1);
}

/**
 * ECDSA over a caller-supplied hash, DER-encoded. A hash longer than the curve is cut to its
 * leftmost curve-size bytes, as the device does; a shorter one needs no padding because a
 * zero-left-padded hash is the same integer. noble's bits2int then takes the leftmost order-size
 * bits, as FIPS 186 does. That last step only matters for a full 66-byte P-521 input, where we
 * do not know whether hardware shifts out the extra 7 bits; no Yubico client sends one to be
 * verified (python-yubihsm and yubihsm-shell send the bare 64-byte SHA-512).
 *
 * The nonce is hedged with fresh randomness (RFC 6979 §3.6) so that, like a device drawing k from
 * its TRNG, signing the same hash twice gives different signatures. The device is not documented
 * to normalise S, so neither do we.
 */
export function signEcdsa(spec: EcSpec, secret: Uint8Array, hash: Uint8Array): Uint8Array {
  const input = hash.length > spec.size ? hash.subarray(0, spec.size) : hash;
  return spec.curve.sign(input, secret, { prehash: false, lowS: false, extraEntropy: true }).toBytes('der');
}

/** Pure Ed25519 (RFC 8032) over the whole message. */
export function signEddsa(secret: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secret);
}

/**
 * GET_OBJECT_INFO's length field: the device's internal representation, d || X || Y for EC. For
 * Ed25519 the sources disagree (96 from Yubico's yhwrap layout, 128 measured on firmware 2.5.0 by
 * qpernil/virtual-yubihsm); we report the hardware measurement.
 */
export function storedLength(spec: KeySpec): number {
  return spec.kind === 'eddsa' ? 128 : 3 * spec.size;
}
