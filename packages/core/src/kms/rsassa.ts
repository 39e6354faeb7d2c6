/**
 * RSASSA-PKCS1-v1_5 and RSASSA-PSS verification over a digest that was hashed elsewhere (AWS
 * MessageType DIGEST, or RAW hashed by signingInput), RFC 8017 §8.1.2 and §8.2.2.
 *
 * node:crypto can only verify RSA signatures over a whole message, which it hashes itself; it has
 * no "already hashed" mode (crypto.verify(null, …) picks SHA-256 and hashes again). So the RSA
 * public-key operation RSAVP1 comes from node:crypto (OpenSSL, via publicDecrypt with no padding,
 * which also refuses a representative ≥ n), and the padding checks are done here:
 *  - PKCS#1 v1.5 by encoding and comparing (§8.2.2 step 3–4): the expected EM is built from the
 *    digest and compared byte for byte, so nothing of the signature is ever parsed. That is what
 *    rules out the Bleichenbacher-2006 family of forgeries, and it refuses the legacy
 *    DigestInfo without NULL parameters.
 *  - PSS by EMSA-PSS-VERIFY (§9.1.2) with the salt length fixed to the digest length and MGF1
 *    over the same hash, as AWS signs.
 * Both are checked against Wycheproof vectors and against node:crypto's own signers in the tests.
 */
import { constants, createHash, createPublicKey, publicDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { HashName } from './key-specs';

const HASH_LENGTH: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/**
 * DER of `DigestInfo` up to and including the OCTET STRING header of the digest, with the
 * algorithm parameters NULL: RFC 8017 §9.2 Note 1.
 */
const DIGEST_INFO_PREFIX: Record<HashName, Uint8Array> = {
  sha256: fromHex('3031300d060960864801650304020105000420'),
  sha384: fromHex('3041300d060960864801650304020205000430'),
  sha512: fromHex('3051300d060960864801650304020305000440'),
};

function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function checkDigest(hash: HashName, digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array)) throw new TypeError('digest must be a Uint8Array');
  if (digest.length !== HASH_LENGTH[hash]) throw new RangeError(`digest must be ${HASH_LENGTH[hash]} bytes for ${hash}, got ${digest.length}`);
}

/** `DigestInfo ‖ H` for a digest: the T of EMSA-PKCS1-v1_5 (§9.2 step 2). */
export function digestInfo(hash: HashName, digest: Uint8Array): Uint8Array {
  checkDigest(hash, digest);
  const prefix = DIGEST_INFO_PREFIX[hash];
  const t = new Uint8Array(prefix.length + digest.length);
  t.set(prefix);
  t.set(digest, prefix.length);
  return t;
}

/** EMSA-PKCS1-v1_5-ENCODE (§9.2): `00 01 FF…FF 00 ‖ DigestInfo ‖ H`, `emLen` bytes. */
export function emsaPkcs1v15Encode(hash: HashName, digest: Uint8Array, emLen: number): Uint8Array {
  const t = digestInfo(hash, digest);
  if (emLen < t.length + 11) throw new RangeError('intended encoded message length too short');
  const em = new Uint8Array(emLen).fill(0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[emLen - t.length - 1] = 0x00;
  em.set(t, emLen - t.length);
  return em;
}

/** MGF1 (§B.2.1) with `hash`. */
export function mgf1(hash: HashName, seed: Uint8Array, maskLength: number): Uint8Array {
  const out = new Uint8Array(maskLength);
  const counter = new Uint8Array(4);
  for (let at = 0, i = 0; at < maskLength; i++) {
    new DataView(counter.buffer).setUint32(0, i, false);
    const block = createHash(hash).update(seed).update(counter).digest();
    const n = Math.min(block.length, maskLength - at);
    out.set(block.subarray(0, n), at);
    at += n;
  }
  return out;
}

interface Recovered {
  /** `m = s^e mod n` as k bytes. */
  m: Uint8Array;
  modBits: number;
}

/**
 * Steps 1–2 of §8.1.2 / §8.2.2: the signature must be exactly k bytes and its integer below n;
 * then RSAVP1. Undefined means "invalid signature" (including a key that is not RSA).
 */
function rsavp1(spki: Uint8Array, signature: Uint8Array): Recovered | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  const modBits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  if (modBits === undefined) return undefined;
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return undefined;
  let m: Buffer;
  try {
    m = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return undefined;
  }
  if (m.length !== k) return undefined;
  return { m: new Uint8Array(m), modBits };
}

/** RSASSA-PKCS1-V1_5-VERIFY (§8.2.2) of a signature over `digest`. */
export function verifyRsaPkcs1v15(spki: Uint8Array, hash: HashName, digest: Uint8Array, signature: Uint8Array): boolean {
  checkDigest(hash, digest);
  const r = rsavp1(spki, signature);
  if (!r) return false;
  const expected = emsaPkcs1v15Encode(hash, digest, r.m.length);
  return timingSafeEqual(r.m, expected);
}

/** RSASSA-PSS-VERIFY (§8.1.2, EMSA-PSS-VERIFY §9.1.2) with MGF1(`hash`) and the given salt length. */
export function verifyRsaPss(spki: Uint8Array, hash: HashName, digest: Uint8Array, signature: Uint8Array, saltLength: number): boolean {
  checkDigest(hash, digest);
  if (!Number.isInteger(saltLength) || saltLength < 0) throw new RangeError(`saltLength must be a non-negative integer, got ${saltLength}`);
  const r = rsavp1(spki, signature);
  if (!r) return false;
  const emBits = r.modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // §8.1.2 step 2c, I2OSP(m, emLen): a k-byte m must fit emLen bytes.
  const extra = r.m.length - emLen;
  for (let i = 0; i < extra; i++) if (r.m[i] !== 0) return false;
  const em = r.m.subarray(extra);
  const hLen = HASH_LENGTH[hash];
  const sLen = saltLength;
  // §9.1.2 steps 3–6.
  if (emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const maskedDb = em.subarray(0, dbLen);
  const h = em.subarray(dbLen, dbLen + hLen);
  const unusedBits = 8 * emLen - emBits;
  const topMask = (0xff << (8 - unusedBits)) & 0xff;
  if ((maskedDb[0]! & topMask) !== 0) return false;
  // Steps 7–10.
  const db = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= maskedDb[i]!;
  db[0]! &= ~topMask & 0xff;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  // Steps 11–14.
  const salt = db.subarray(dbLen - sLen);
  const hPrime = createHash(hash).update(new Uint8Array(8)).update(digest).update(salt).digest();
  return timingSafeEqual(h, hPrime);
}
