/**
 * Asymmetric (EC P-256) session authentication of firmware 2.3+, as python-yubihsm's
 * `AsymmetricAuth` and libyubihsm's `yh_begin/finish_create_session` do it, for both sides: two
 * ECDH shared secrets (ephemeral-ephemeral and static-static), an ANSI X9.63 KDF with SHA-256 over
 * them, and a receipt that proves the device derived the same keys. No AUTHENTICATE_SESSION
 * follows; the receipt is the first MAC chaining value.
 */
import { createECDH, createHash } from 'node:crypto';
import { assertBytes, assertInt } from '../check';
import { aesCmac, KEY_LENGTH } from './kdf';
import type { SessionKeys } from './channel';
import { concatBytes } from './util';

/** An uncompressed P-256 point `04 || X || Y`, as CREATE_SESSION carries the ephemeral keys. */
export const EC_P256_POINT_LENGTH = 65;
/** `X || Y` without the 04 prefix, as authentication keys and the device public key are stored. */
export const EC_P256_PUBLIC_KEY_LENGTH = 64;
/** The X9.63 SharedInfo both libraries use (python `b"\x3c\x88\x10"`). */
export const ASYMMETRIC_SHARED_INFO = Uint8Array.of(0x3c, 0x88, 0x10);
export const RECEIPT_LENGTH = 16;
const P256_SCALAR_LENGTH = 32;

/** ANSI X9.63 KDF (SEC 1 §3.6.1) with SHA-256: `SHA-256(Z || counter(4) || SharedInfo)` for counter = 1, 2, … */
export function x963KdfSha256(z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  assertBytes('z', z);
  assertBytes('sharedInfo', sharedInfo);
  assertInt('length', length, 1, 32 * 0xffff);
  const out = new Uint8Array(Math.ceil(length / 32) * 32);
  for (let counter = 1, at = 0; at < length; counter++, at += 32) {
    const c = Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff);
    out.set(createHash('sha256').update(z).update(c).update(sharedInfo).digest(), at);
  }
  const result = out.slice(0, length);
  out.fill(0);
  return result;
}

export interface AsymmetricSessionKeys {
  keys: SessionKeys;
  /** `CMAC(receipt key, EPK.SD || EPK.OCE)`: what the device answers and the first chaining value. */
  receipt: Uint8Array;
}

/**
 * The four 16-byte keys from `X9.63(shsee || shsss)`: receipt key, S-ENC, S-MAC, S-RMAC; and the
 * receipt over the device's and the host's ephemeral public keys (in that order).
 */
export function asymmetricSessionKeys(shsee: Uint8Array, shsss: Uint8Array, epkCard: Uint8Array, epkHost: Uint8Array): AsymmetricSessionKeys {
  assertBytes('epkCard', epkCard, EC_P256_POINT_LENGTH);
  assertBytes('epkHost', epkHost, EC_P256_POINT_LENGTH);
  const z = concatBytes(shsee, shsss);
  const material = x963KdfSha256(z, ASYMMETRIC_SHARED_INFO, 4 * KEY_LENGTH);
  z.fill(0);
  const part = (i: number): Uint8Array => material.slice(i * KEY_LENGTH, (i + 1) * KEY_LENGTH);
  const receiptKey = part(0);
  const keys = { sEnc: part(1), sMac: part(2), sRmac: part(3) };
  const receipt = aesCmac(receiptKey, concatBytes(epkCard, epkHost));
  receiptKey.fill(0);
  material.fill(0);
  return { keys, receipt };
}

/** ECDH on P-256: the X coordinate shared by `privateKey` and the uncompressed point `peer`. Throws on a point off the curve. */
export function ecdhP256(privateKey: Uint8Array, peer: Uint8Array): Uint8Array {
  assertBytes('privateKey', privateKey, P256_SCALAR_LENGTH);
  assertBytes('peer', peer, EC_P256_POINT_LENGTH);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return new Uint8Array(ecdh.computeSecret(peer));
}

/** A fresh P-256 key pair: the 32-byte scalar and the uncompressed public point. */
export function generateP256(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes (1 key in 256 is shorter); the scalar is always 32 here.
  const scalar = ecdh.getPrivateKey();
  const privateKey = new Uint8Array(P256_SCALAR_LENGTH);
  privateKey.set(scalar, P256_SCALAR_LENGTH - scalar.length);
  scalar.fill(0);
  return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
}

/** The uncompressed point of a private scalar. */
export function p256PublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes('privateKey', privateKey, P256_SCALAR_LENGTH);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return new Uint8Array(ecdh.getPublicKey());
}
