// Asymmetric key operations for the algorithms the simulator can hold. One table maps each YubiHSM
// algorithm code to its curve or modulus size; the command handlers never branch on curves themselves.
//
// How a key is held (StoredObject.secret), uniform per kind so that every command, the state file
// and wrapped export/import read one form:
//   EC       the scalar d, big-endian, exactly `size` bytes (the PUT_ASYMMETRIC_KEY form);
//   Ed25519  the 32-byte seed (the PUT_ASYMMETRIC_KEY form), or for a key imported under wrap
//            without its seed the expanded scalar || prefix (ed25519-key.ts);
//   RSA      PKCS#8 DER of the private key (e = 65537). PUT_ASYMMETRIC_KEY's `p || q` is turned
//            into it by importSecret; rsaComponents gives back p, q, dP, dQ, qInv and n (the
//            device's internal form, as in wrapped exports).
import {
  checkPrimeSync,
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  privateEncrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { CurveFn } from '@noble/curves/abstract/weierstrass';
import { Algorithm, DeviceError, DeviceErrorCode } from '@kmsgate/yubihsm';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1, p224 } from './curves';
import { bitString, oid, sequence } from './der';
import { ed25519PublicKey, ed25519Sign } from './ed25519-key';

type WeierstrassCurve = CurveFn;

export interface EcSpec {
  readonly kind: 'ecdsa';
  readonly curve: WeierstrassCurve;
  /** Coordinate / scalar size in bytes (yubihsm.h: 28 for P-224, 32 for P-256, 66 for P-521). */
  readonly size: number;
  /** The named-curve OID of its SubjectPublicKeyInfo (RFC 5480, RFC 5639 §4.1, SEC 2 §A.2). */
  readonly oid: string;
}

interface EdSpec {
  readonly kind: 'eddsa';
  readonly size: 32;
}

export interface RsaSpec {
  readonly kind: 'rsa';
  /** Modulus size in bits; the public exponent is always 65537, as on the device. */
  readonly bits: 2048 | 3072 | 4096;
}

export type KeySpec = EcSpec | EdSpec | RsaSpec;

const ec = (curve: WeierstrassCurve, size: number, oid: string): EcSpec => ({ kind: 'ecdsa', curve, size, oid });

/** Every asymmetric algorithm of the YubiHSM 2 (python-yubihsm `AsymmetricKey` docs). */
export const KEY_SPECS: ReadonlyMap<number, KeySpec> = new Map<number, KeySpec>([
  [Algorithm.EC_P224, ec(p224, 28, '1.3.132.0.33')],
  [Algorithm.EC_P256, ec(p256, 32, '1.2.840.10045.3.1.7')],
  [Algorithm.EC_P384, ec(p384, 48, '1.3.132.0.34')],
  [Algorithm.EC_P521, ec(p521, 66, '1.3.132.0.35')],
  [Algorithm.EC_K256, ec(secp256k1, 32, '1.3.132.0.10')],
  [Algorithm.EC_BP256, ec(brainpoolP256r1, 32, '1.3.36.3.3.2.8.1.1.7')],
  [Algorithm.EC_BP384, ec(brainpoolP384r1, 48, '1.3.36.3.3.2.8.1.1.11')],
  [Algorithm.EC_BP512, ec(brainpoolP512r1, 64, '1.3.36.3.3.2.8.1.1.13')],
  [Algorithm.EC_ED25519, { kind: 'eddsa', size: 32 }],
  [Algorithm.RSA_2048, { kind: 'rsa', bits: 2048 }],
  [Algorithm.RSA_3072, { kind: 'rsa', bits: 3072 }],
  [Algorithm.RSA_4096, { kind: 'rsa', bits: 4096 }],
]);

export function keySpec(algorithm: number): KeySpec | undefined {
  return KEY_SPECS.get(algorithm);
}

/**
 * The stored private part: the EC scalar d, the Ed25519 seed, or for RSA the PKCS#8 DER of the
 * private key (the simulator's own form; the device's internal one is p‖q‖dP‖dQ‖qInv‖n).
 * RSA generation is synchronous and slow (a 4096-bit key takes a second or more), as the device
 * is slow at it too.
 */
export function generateSecret(spec: KeySpec): Uint8Array {
  if (spec.kind === 'eddsa') return new Uint8Array(randomBytes(32));
  if (spec.kind === 'rsa') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 });
    return new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }));
  }
  return spec.curve.utils.randomSecretKey();
}

/**
 * GET_PUBLIC_KEY body: X || Y without the 0x04 prefix for EC, the 32-byte point A for Ed25519,
 * the big-endian modulus (256/384/512 bytes) for RSA.
 */
export function publicKeyOf(spec: KeySpec, secret: Uint8Array): Uint8Array {
  if (spec.kind === 'eddsa') return ed25519PublicKey(secret);
  if (spec.kind === 'rsa') {
    const jwk = createPublicKey(rsaPrivateKey(secret)).export({ format: 'jwk' });
    const n = Buffer.from(jwk.n as string, 'base64url');
    const out = new Uint8Array(spec.bits / 8);
    out.set(n, out.length - n.length);
    return out;
  }
  return spec.curve.getPublicKey(secret, false).subarray(1);
}

function rsaPrivateKey(secret: Uint8Array) {
  return createPrivateKey({ key: Buffer.from(secret), format: 'der', type: 'pkcs8' });
}

/** Hashes the device recognises by the length of a bare hash (SIGN_PKCS1, SIGN_PSS). */
const HASH_BY_LENGTH: ReadonlyMap<number, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = new Map([
  [20, 'sha1'],
  [32, 'sha256'],
  [48, 'sha384'],
  [64, 'sha512'],
] as const);

export function isHashLength(length: number): boolean {
  return HASH_BY_LENGTH.has(length);
}

/** `DigestInfo` DER up to the hash's OCTET STRING header, NULL parameters (RFC 8017 §9.2 Note 1). */
const DIGEST_INFO_PREFIX = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
} as const;

/** MGF1 hash per YubiHSM algorithm code (mgf1-sha1 … mgf1-sha512). */
const MGF1_HASH: ReadonlyMap<number, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = new Map([
  [Algorithm.RSA_MGF1_SHA1, 'sha1'],
  [Algorithm.RSA_MGF1_SHA256, 'sha256'],
  [Algorithm.RSA_MGF1_SHA384, 'sha384'],
  [Algorithm.RSA_MGF1_SHA512, 'sha512'],
] as const);

export function isMgf1Algorithm(algorithm: number): boolean {
  return MGF1_HASH.has(algorithm);
}

/** Longest input SIGN_PKCS1 can pad: EMSA-PKCS1-v1_5 needs 11 bytes of the modulus (RFC 8017 §9.2). */
export function maxPkcs1Input(spec: RsaSpec): number {
  return spec.bits / 8 - 11;
}

/**
 * RSASSA-PKCS1-v1_5 as the device does it: a bare 20/32/48/64-byte hash gets its DigestInfo
 * prepended (python-yubihsm `sign_pkcs1v1_5` and yubihsm-shell `examples/generate_rsa.c` send
 * only the hash and verify a standard signature); any other input is taken as an already encoded
 * `DigestInfo ‖ hash`. OpenSSL's type-1 padding (`00 01 FF… 00 ‖ T`) plus RSASP1 is exactly
 * EMSA-PKCS1-v1_5 + RSASP1. Note that crypto.sign(null, …) would hash the input again.
 */
export function signPkcs1(secret: Uint8Array, input: Uint8Array): Uint8Array {
  const hash = HASH_BY_LENGTH.get(input.length);
  const t = hash === undefined ? Buffer.from(input) : Buffer.concat([DIGEST_INFO_PREFIX[hash], input]);
  return new Uint8Array(privateEncrypt({ key: rsaPrivateKey(secret), padding: constants.RSA_PKCS1_PADDING }, t));
}

/**
 * Longest salt EMSA-PSS-ENCODE allows for this key and hash: emLen − hLen − 2 (RFC 8017 §9.1.1
 * step 3), where emLen = ⌈(modBits − 1)/8⌉.
 */
export function maxPssSalt(spec: RsaSpec, hashLength: number): number {
  return Math.ceil((spec.bits - 1) / 8) - hashLength - 2;
}

/**
 * RSASSA-PSS over a hash the caller computed: EMSA-PSS-ENCODE (RFC 8017 §9.1.1) here, then RSASP1
 * by OpenSSL (privateEncrypt without padding). The hash in M' is the one the hash length names;
 * MGF1 uses `mgf1Algorithm`, which may differ (python-yubihsm's device tests sign SHA-256 with
 * MGF1-SHA1). node:crypto has no PSS signer for an already computed hash.
 */
export function signPss(spec: RsaSpec, secret: Uint8Array, mgf1Algorithm: number, saltLength: number, mHash: Uint8Array): Uint8Array {
  const hash = HASH_BY_LENGTH.get(mHash.length);
  const mgfHash = MGF1_HASH.get(mgf1Algorithm);
  if (hash === undefined || mgfHash === undefined) throw new RangeError('unsupported hash or MGF1 algorithm');
  if (saltLength > maxPssSalt(spec, mHash.length)) throw new RangeError('salt too long for the modulus');
  const k = spec.bits / 8;
  const emBits = spec.bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  const salt = randomBytes(saltLength);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const dbLen = emLen - hLen - 1;
  const db = Buffer.alloc(dbLen);
  db[dbLen - saltLength - 1] = 0x01;
  salt.copy(db, dbLen - saltLength);
  const mask = mgf1(mgfHash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const em = Buffer.alloc(k);
  em.set(db, k - emLen);
  em.set(h, k - emLen + dbLen);
  em[k - 1] = 0xbc;
  return new Uint8Array(privateEncrypt({ key: rsaPrivateKey(secret), padding: constants.RSA_NO_PADDING }, em));
}

/** MGF1 (RFC 8017 §B.2.1). */
function mgf1(hash: string, seed: Uint8Array, length: number): Uint8Array {
  const blocks: Buffer[] = [];
  let have = 0;
  for (let counter = 0; have < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    have += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
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

/** Pure Ed25519 (RFC 8032) over the whole message, from the seed or the expanded key. */
export function signEddsa(secret: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519Sign(secret, message);
}

/**
 * GET_OBJECT_INFO's length field: the device's internal representation, d || X || Y for EC and
 * p‖q‖dP‖dQ‖qInv‖n (7n/2 bytes, 896 for rsa2048, as hardware reports) for RSA. For Ed25519 the
 * sources disagree (96 from Yubico's yhwrap layout, 128 measured on firmware 2.5.0 by
 * qpernil/virtual-yubihsm); we report the hardware measurement.
 */
export function storedLength(spec: KeySpec): number {
  if (spec.kind === 'rsa') return (7 * spec.bits) / 16;
  return spec.kind === 'eddsa' ? 128 : 3 * spec.size;
}

/** The length of PUT_ASYMMETRIC_KEY's key field for this algorithm. */
function importLength(spec: KeySpec): number {
  return spec.kind === 'rsa' ? spec.bits / 8 : spec.size;
}

/**
 * PUT_ASYMMETRIC_KEY's key field as the stored secret. Throws DeviceError INVALID_DATA for key
 * material that is not a key of this algorithm (d outside [1, n−1]; RSA primes that are not
 * prime, equal, or whose product is not exactly the modulus size, or that do not admit e = 65537).
 */
export function importSecret(spec: KeySpec, key: Uint8Array): Uint8Array {
  if (key.length !== importLength(spec)) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  if (spec.kind === 'eddsa') return key.slice();
  if (spec.kind === 'ecdsa') {
    if (!spec.curve.utils.isValidSecretKey(key)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    return key.slice();
  }
  const half = key.length / 2;
  return rsaSecretFromPrimes(spec, toBigInt(key.subarray(0, half)), toBigInt(key.subarray(half)));
}

const RSA_E = 65537n;

function rsaSecretFromPrimes(spec: RsaSpec, p: bigint, q: bigint): Uint8Array {
  const n = p * q;
  const bad =
    p === q ||
    p < 3n ||
    q < 3n ||
    n.toString(2).length !== spec.bits ||
    gcd(RSA_E, p - 1n) !== 1n ||
    gcd(RSA_E, q - 1n) !== 1n ||
    !checkPrimeSync(p) ||
    !checkPrimeSync(q);
  if (bad) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const d = modInverse(RSA_E, (p - 1n) * (q - 1n));
  const jwk = {
    kty: 'RSA',
    n: b64u(n),
    e: b64u(RSA_E),
    d: b64u(d),
    p: b64u(p),
    q: b64u(q),
    dp: b64u(d % (p - 1n)),
    dq: b64u(d % (q - 1n)),
    qi: b64u(modInverse(q, p)),
  };
  return new Uint8Array(createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' }));
}

/**
 * ECDH (SP 800-56A §5.7.1.2): the X coordinate of d·Q. The peer point must be uncompressed
 * `04 || X || Y` on the key's curve; anything else (wrong length, off the curve, the point at
 * infinity, coordinates ≥ p) is INVALID_DATA, as python-yubihsm's test_bad_ecdh_keys expects.
 */
export function deriveEcdh(spec: EcSpec, secret: Uint8Array, peer: Uint8Array): Uint8Array {
  if (peer.length !== 1 + 2 * spec.size || peer[0] !== 0x04) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  let shared: Uint8Array;
  try {
    shared = spec.curve.getSharedSecret(secret, peer, true);
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  }
  return shared.slice(1);
}

/** RSADP (RFC 8017 §5.1.2) on a modulus-length ciphertext; a ciphertext ≥ n is INVALID_DATA. */
function rsaDecryptRaw(spec: RsaSpec, secret: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length !== spec.bits / 8) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  try {
    return new Uint8Array(privateDecrypt({ key: rsaPrivateKey(secret), padding: constants.RSA_NO_PADDING }, ciphertext));
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  }
}

/**
 * RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2). node:crypto refuses PKCS#1 v1.5 decryption since
 * the Marvin fix (CVE-2023-46809), so the padding is checked here after a raw RSADP: 00 02, at
 * least 8 non-zero padding bytes, a 00 separator. The scan does not stop early, so its time does
 * not depend on where the padding breaks.
 */
export function decryptPkcs1(spec: RsaSpec, secret: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const em = rsaDecryptRaw(spec, secret, ciphertext);
  let separator = 0;
  for (let i = 2; i < em.length; i++) {
    const isFirstZero = separator === 0 && em[i] === 0;
    separator = isFirstZero ? i : separator;
  }
  const bad = em[0] !== 0 || em[1] !== 2 || separator < 10;
  if (bad) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return em.slice(separator + 1);
}

/**
 * RSAES-OAEP decryption (RFC 8017 §7.1.2) as the device takes it: the OAEP hash is the one the
 * label hash's length names, MGF1 uses `mgf1Algorithm` (they may differ), and the host hashed the
 * label. node:crypto can neither split the two hashes nor take a label hash, so EME-OAEP decoding
 * is done here over a raw RSADP. Every check is made before any failure is reported (§7.1.2 note).
 */
export function decryptOaep(spec: RsaSpec, secret: Uint8Array, mgf1Algorithm: number, ciphertext: Uint8Array, labelHash: Uint8Array): Uint8Array {
  const mgfHash = MGF1_HASH.get(mgf1Algorithm);
  if (mgfHash === undefined || !HASH_BY_LENGTH.has(labelHash.length)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const hLen = labelHash.length;
  const k = spec.bits / 8;
  const em = rsaDecryptRaw(spec, secret, ciphertext);
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seedMask = mgf1(mgfHash, maskedDb, hLen);
  const seed = maskedSeed.map((b, i) => b ^ seedMask[i]!);
  const dbMask = mgf1(mgfHash, seed, k - hLen - 1);
  const db = maskedDb.map((b, i) => b ^ dbMask[i]!);
  let bad = em[0] !== 0 ? 1 : 0;
  bad |= timingSafeEqual(db.subarray(0, hLen), labelHash) ? 0 : 1;
  // The first non-zero byte after lHash must be 01; found without stopping early.
  let one = 0;
  let inPadding = 1;
  for (let i = hLen; i < db.length; i++) {
    const atOne = inPadding & (db[i] === 1 ? 1 : 0);
    const atOther = inPadding & (db[i] !== 0 && db[i] !== 1 ? 1 : 0);
    one = atOne ? i : one;
    bad |= atOther;
    inPadding &= db[i] === 0 ? 1 : 0;
  }
  bad |= one === 0 ? 1 : 0;
  if (bad !== 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return db.slice(one + 1);
}

/** DER SubjectPublicKeyInfo of a stored key (X.509 certificates the device issues). */
export function subjectPublicKeyInfo(spec: KeySpec, secret: Uint8Array): Uint8Array {
  if (spec.kind === 'rsa') return new Uint8Array(createPublicKey(rsaPrivateKey(secret)).export({ type: 'spki', format: 'der' }));
  if (spec.kind === 'eddsa') return encodeSpki(sequence(oid('1.3.101.112')), ed25519PublicKey(secret));
  return encodeSpki(sequence(oid('1.2.840.10045.2.1'), oid(spec.oid)), spec.curve.getPublicKey(secret, false));
}

function encodeSpki(algorithmIdentifier: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return sequence(algorithmIdentifier, bitString(publicKey));
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function b64u(n: bigint): string {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex').toString('base64url');
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return ((oldS % m) + m) % m;
}

/** An RSA private key's CRT parts at their fixed sizes: `n` the modulus length, the rest half of it. */
export interface RsaComponents {
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
  n: Uint8Array;
}

export function rsaComponents(spec: RsaSpec, secret: Uint8Array): RsaComponents {
  const jwk = rsaPrivateKey(secret).export({ format: 'jwk' });
  const part = (v: string | undefined, length: number): Uint8Array => {
    const raw = Buffer.from(v ?? '', 'base64url');
    const out = new Uint8Array(length);
    out.set(raw, length - raw.length);
    return out;
  };
  const half = spec.bits / 16;
  return { p: part(jwk.p, half), q: part(jwk.q, half), dp: part(jwk.dp, half), dq: part(jwk.dq, half), qi: part(jwk.qi, half), n: part(jwk.n, spec.bits / 8) };
}
