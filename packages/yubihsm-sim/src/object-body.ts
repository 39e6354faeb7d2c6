// Each object type's body in a wrapped blob: the device's internal representation, which
// EXPORT_WRAPPED writes after the header and IMPORT_WRAPPED reads back into a stored object.
// Sources: yubihsm-shell `yhwrap/main.c` and `common/util.c` (`read_private_key` with
// `internal_repr`, `split_hmac_key`), which produce blobs hardware imports; archlinux/signstar
// `backup.rs` and its device-exported `.yhw` files (Ed25519 with seed, authentication key, opaque).
import { timingSafeEqual } from 'node:crypto';
import { Algorithm, DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { ED25519_SEED_LENGTH, expandedOf, expandSeed } from './ed25519-key';
import { importSecret, keySpec, publicKeyOf, rsaComponents, type KeySpec, type RsaSpec } from './key-crypto';
import type { StoredObject } from './object-store';
import { AES_KEY_LENGTH, CCM_WRAP_KEY_LENGTH, HMAC_SPECS } from './symmetric-specs';

/** What a body holds besides the header: the object's secret as the simulator stores it. */
export interface ObjectMaterial {
  secret: Uint8Array;
  delegatedCapabilities: bigint;
}

interface BodyCodec {
  encode(object: StoredObject, withSeed: boolean): Uint8Array;
  /** undefined when the body cannot be an object of this type and algorithm. */
  decode(algorithm: number, body: Uint8Array): ObjectMaterial | undefined;
}

const DELEGATED_LENGTH = 8;
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(DELEGATED_LENGTH);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

const readU64 = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, DELEGATED_LENGTH).getBigUint64(0, false);

/** Auth and wrap keys carry their delegated capabilities in front of the key (yhwrap). */
function withDelegated(inner: (algorithm: number, key: Uint8Array) => Uint8Array | undefined): BodyCodec['decode'] {
  return (algorithm, body) => {
    if (body.length < DELEGATED_LENGTH) return undefined;
    const secret = inner(algorithm, body.slice(DELEGATED_LENGTH));
    return secret === undefined ? undefined : { secret, delegatedCapabilities: readU64(body) };
  };
}

const plain = (secret: Uint8Array): ObjectMaterial => ({ secret, delegatedCapabilities: 0n });

/** RSA: `p || q || dP || dQ || qInv || n` (7n/2 bytes). */
function encodeRsa(spec: RsaSpec, secret: Uint8Array): Uint8Array {
  const c = rsaComponents(spec, secret);
  return concat(c.p, c.q, c.dp, c.dq, c.qi, c.n);
}

function decodeRsa(spec: RsaSpec, body: Uint8Array): Uint8Array | undefined {
  const half = spec.bits / 16;
  if (body.length !== 7 * half) return undefined;
  // Throws for primes that cannot be a key (importBody turns that into INVALID_DATA).
  const secret = importSecret(spec, body.subarray(0, 2 * half));
  // The stored CRT values must be the ones p and q give, or the device would sign wrongly.
  return same(encodeRsa(spec, secret), body) ? secret : undefined;
}

/**
 * EC: `d || X || Y`. Ed25519: `scalar (big-endian) || prefix || A` (96 bytes), preceded by the
 * 32-byte seed in firmware 2.4's seed format (128 bytes).
 */
function encodeAsymmetric(spec: KeySpec, secret: Uint8Array, withSeed: boolean): Uint8Array {
  if (spec.kind === 'rsa') return encodeRsa(spec, secret);
  const publicKey = publicKeyOf(spec, secret);
  if (spec.kind === 'ecdsa') return concat(secret, publicKey);
  const { scalar, prefix } = expandedOf(secret);
  const expanded = concat(scalar.reverse(), prefix, publicKey);
  if (!withSeed) return expanded;
  // A key imported without its seed cannot be exported with one.
  if (secret.length !== ED25519_SEED_LENGTH) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return concat(secret, expanded);
}

function decodeAsymmetric(spec: KeySpec, body: Uint8Array): Uint8Array | undefined {
  if (spec.kind === 'rsa') return decodeRsa(spec, body);
  if (spec.kind === 'ecdsa') {
    if (body.length !== 3 * spec.size) return undefined;
    const d = body.slice(0, spec.size);
    return same(publicKeyOf(spec, d), body.subarray(spec.size)) ? d : undefined;
  }
  const seeded = body.length === 4 * 32;
  if (!seeded && body.length !== 3 * 32) return undefined;
  const expanded = body.subarray(seeded ? 32 : 0);
  const secret = new Uint8Array(64);
  secret.set(expanded.subarray(0, 32).slice().reverse());
  secret.set(expanded.subarray(32, 64), 32);
  if (!same(publicKeyOf(spec, secret), expanded.subarray(64))) return undefined;
  if (!seeded) return secret;
  const seed = body.slice(0, ED25519_SEED_LENGTH);
  const fromSeed = expandSeed(seed);
  return same(concat(fromSeed.scalar, fromSeed.prefix), secret) ? seed : undefined;
}

/** HMAC: `(K xor ipad) || (K xor opad)`, K zero-padded to the hash's block size (`split_hmac_key`). */
function encodeHmac(blockSize: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 * blockSize);
  for (let i = 0; i < blockSize; i++) {
    const k = key[i] ?? 0;
    out[i] = k ^ 0x36;
    out[blockSize + i] = k ^ 0x5c;
  }
  return out;
}

const BODY_CODECS: ReadonlyMap<number, BodyCodec> = new Map<number, BodyCodec>([
  [
    ObjectType.OPAQUE,
    {
      encode: (o) => o.secret,
      decode: (algorithm, body) =>
        (algorithm === Algorithm.OPAQUE_DATA || algorithm === Algorithm.OPAQUE_X509_CERTIFICATE) && body.length > 0 ? plain(body) : undefined,
    },
  ],
  [
    ObjectType.AUTHENTICATION_KEY,
    {
      encode: (o) => concat(u64(o.delegatedCapabilities), o.secret),
      decode: withDelegated((algorithm, key) => (algorithm === Algorithm.AES128_YUBICO_AUTHENTICATION && key.length === 32 ? key : undefined)),
    },
  ],
  [
    ObjectType.ASYMMETRIC_KEY,
    {
      encode: (o, withSeed) => encodeAsymmetric(specOf(o.algorithm), o.secret, withSeed),
      decode: (algorithm, body) => {
        const spec = keySpec(algorithm);
        const secret = spec === undefined ? undefined : decodeAsymmetric(spec, body);
        return secret === undefined ? undefined : plain(secret);
      },
    },
  ],
  [
    ObjectType.WRAP_KEY,
    {
      encode: (o) => {
        const spec = keySpec(o.algorithm);
        return concat(u64(o.delegatedCapabilities), spec?.kind === 'rsa' ? encodeRsa(spec, o.secret) : o.secret);
      },
      decode: withDelegated((algorithm, key) => {
        const spec = keySpec(algorithm);
        if (spec?.kind === 'rsa') return decodeRsa(spec, key);
        return CCM_WRAP_KEY_LENGTH.get(algorithm) === key.length ? key : undefined;
      }),
    },
  ],
  [
    ObjectType.HMAC_KEY,
    {
      encode: (o) => encodeHmac(hmacBlockSize(o.algorithm), o.secret),
      decode: (algorithm, body) => {
        const spec = HMAC_SPECS.get(algorithm);
        if (spec === undefined || body.length !== 2 * spec.blockSize) return undefined;
        const key = body.slice(0, spec.blockSize).map((b) => b ^ 0x36);
        return same(encodeHmac(spec.blockSize, key), body) ? plain(key) : undefined;
      },
    },
  ],
  [
    ObjectType.SYMMETRIC_KEY,
    {
      encode: (o) => o.secret,
      decode: (algorithm, body) => (AES_KEY_LENGTH.get(algorithm) === body.length ? plain(body) : undefined),
    },
  ],
]);

function specOf(algorithm: number): KeySpec {
  const spec = keySpec(algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return spec;
}

function hmacBlockSize(algorithm: number): number {
  const spec = HMAC_SPECS.get(algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return spec.blockSize;
}

/** The body EXPORT_WRAPPED writes; INVALID_DATA for an object type that cannot travel under wrap. */
export function exportBody(object: StoredObject, withSeed: boolean): Uint8Array {
  const codec = BODY_CODECS.get(object.type);
  if (codec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return codec.encode(object, withSeed);
}

/** The stored secret for an imported body; INVALID_DATA when the body is not a valid key of its kind. */
export function importBody(type: number, algorithm: number, body: Uint8Array): ObjectMaterial {
  let material: ObjectMaterial | undefined;
  try {
    material = BODY_CODECS.get(type)?.decode(algorithm, body);
  } catch {
    material = undefined;
  }
  if (material === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return material;
}
