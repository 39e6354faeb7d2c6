// Signature checks with node:crypto (OpenSSL), independent of the @noble/curves code the simulator
// signs with, so a shared bug cannot make a bad signature pass.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Algorithm } from '@kmsgate/yubihsm';

const CURVES: Record<number, string> = {
  [Algorithm.EC_P256]: 'P-256',
  [Algorithm.EC_P384]: 'P-384',
  [Algorithm.EC_P521]: 'P-521',
  [Algorithm.EC_K256]: 'secp256k1',
};

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** GET_PUBLIC_KEY's body (X || Y, or the Ed25519 point) as a node:crypto key. */
export function publicKeyFromDevice(algorithm: number, raw: Uint8Array): KeyObject {
  if (algorithm === Algorithm.EC_ED25519) {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(raw) }, format: 'jwk' });
  }
  const crv = CURVES[algorithm];
  if (crv === undefined) throw new Error(`no curve for algorithm ${algorithm}`);
  const half = raw.length / 2;
  return createPublicKey({ key: { kty: 'EC', crv, x: b64u(raw.subarray(0, half)), y: b64u(raw.subarray(half)) }, format: 'jwk' });
}

export function digest(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512', message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(message).digest());
}

/** ECDSA with `hash` over `message`, DER signature; OpenSSL truncates the hash to the curve itself. */
export function verifyEcdsa(key: KeyObject, hash: string, message: Uint8Array, derSignature: Uint8Array): boolean {
  return verify(hash, message, { key, dsaEncoding: 'der' }, derSignature);
}

export function verifyEd25519(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  return verify(null, message, key, signature);
}

/** GET_PUBLIC_KEY's RSA body (the modulus; e = 65537 is implicit) as a node:crypto key. */
export function rsaPublicKeyFromDevice(modulus: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'RSA', n: b64u(modulus), e: 'AQAB' }, format: 'jwk' });
}
