import { createPublicKey } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { DECODE_ERROR_CODES, DecodeError, type DecodeErrorCode } from '../src';

/** mulberry32: a small deterministic PRNG, so fuzz runs and keys are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** A fixed 32-byte secret from a label, so tests need no RNG. */
export function fixedSecret(label: number): Uint8Array {
  return randomBytes(prng(0x5eed + label), 32);
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * SubjectPublicKeyInfo DER built by node:crypto (OpenSSL), as kmsgate's backends produce it —
 * independent of the fixed-prefix parser under test.
 */
export function spkiFor(curve: 'secp256k1' | 'p256' | 'ed25519', secret: Uint8Array): Uint8Array {
  if (curve === 'ed25519') {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(ed25519.getPublicKey(secret)) };
    return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
  }
  const pub = (curve === 'secp256k1' ? secp256k1 : p256).getPublicKey(secret, false);
  const jwk = { kty: 'EC', crv: curve === 'p256' ? 'P-256' : 'secp256k1', x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33)) };
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** A DER ECDSA signature as AWS KMS returns it: not normalised, here forced to high-S when `highS`. */
export function kmsDerSign(curve: typeof secp256k1 | typeof p256, digest: Uint8Array, secret: Uint8Array, highS = true): Uint8Array {
  const sig = curve.sign(digest, secret, { lowS: true });
  const s = highS ? curve.CURVE.n - sig.s : sig.s;
  return new curve.Signature(sig.r, s).toDERRawBytes();
}

/** Runs `fn` and returns the DecodeError code it throws; fails the test on success or another exception. */
export function codeOf(fn: () => unknown): DecodeErrorCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof DecodeError) {
      expect(Object.keys(DECODE_ERROR_CODES)).toContain(err.code);
      return err.code;
    }
    throw err;
  }
  throw new Error('expected a DecodeError, but it decoded');
}

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replace(/^0x/, ''), 'hex'));
}
