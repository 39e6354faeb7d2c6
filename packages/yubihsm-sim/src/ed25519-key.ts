// Ed25519 private keys in the two forms the simulator can hold. A key generated, PUT, or imported
// with its seed is the 32-byte RFC 8032 seed. A key imported from a legacy wrapped blob (yubihsm-wrap,
// EXPORT_WRAPPED without the seed format) carries only the expanded secret, so it is held as
// scalar (32, little-endian) || prefix (32) and signed with directly (RFC 8032 §5.1.6 steps 2-6).
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';

export const ED25519_SEED_LENGTH = 32;
export const ED25519_EXPANDED_LENGTH = 64;

const ORDER = ed25519.Point.Fn.ORDER;

export interface ExpandedEd25519 {
  /** The clamped scalar s, little-endian as RFC 8032 writes it. */
  scalar: Uint8Array;
  prefix: Uint8Array;
}

/** RFC 8032 §5.1.5 steps 1-3. */
export function expandSeed(seed: Uint8Array): ExpandedEd25519 {
  const h = createHash('sha512').update(seed).digest();
  const scalar = new Uint8Array(h.subarray(0, 32));
  scalar[0]! &= 248;
  scalar[31]! &= 127;
  scalar[31]! |= 64;
  return { scalar, prefix: new Uint8Array(h.subarray(32)) };
}

export function expandedOf(secret: Uint8Array): ExpandedEd25519 {
  if (secret.length === ED25519_SEED_LENGTH) return expandSeed(secret);
  return { scalar: secret.slice(0, 32), prefix: secret.slice(32, 64) };
}

const le = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);

function le32(n: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse());
}

function scalarMultBase(scalar: Uint8Array): Uint8Array {
  return ed25519.Point.BASE.multiply(le(scalar) % ORDER).toBytes();
}

/** The 32-byte public key A of either form. */
export function ed25519PublicKey(secret: Uint8Array): Uint8Array {
  return secret.length === ED25519_SEED_LENGTH ? ed25519.getPublicKey(secret) : scalarMultBase(secret.subarray(0, 32));
}

/** Pure Ed25519 (RFC 8032 §5.1.6) with either form of the private key. */
export function ed25519Sign(secret: Uint8Array, message: Uint8Array): Uint8Array {
  if (secret.length === ED25519_SEED_LENGTH) return ed25519.sign(message, secret);
  const { scalar, prefix } = expandedOf(secret);
  const publicKey = scalarMultBase(scalar);
  const r = le(createHash('sha512').update(prefix).update(message).digest()) % ORDER;
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const k = le(createHash('sha512').update(R).update(publicKey).update(message).digest()) % ORDER;
  const s = (r + k * (le(scalar) % ORDER)) % ORDER;
  const signature = new Uint8Array(64);
  signature.set(R);
  signature.set(le32(s), 32);
  return signature;
}
