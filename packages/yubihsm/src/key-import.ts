/**
 * AWS KMS's import format for asymmetric keys, taken apart for a YubiHSM 2. The key material is a
 * PKCS#8 DER private key, wrapped for the RSA public key GetParametersForImport handed out
 * (AWS KMS developer guide, "Encrypt key material" and "Select a wrapping algorithm"):
 * - RSAES_OAEP_SHA_*: the PKCS#8 itself is RSA-OAEP encrypted (MGF1 with the same hash, empty label);
 * - RSA_AES_KEY_WRAP_SHA_*: an RSA-OAEP encrypted AES-256 key (one modulus length), then the PKCS#8
 *   wrapped under it with AES key wrap with padding (RFC 5649), as PKCS#11 CKM_RSA_AES_KEY_WRAP.
 * The RSA layer is undone inside the device (DECRYPT_OAEP); the device has no command that takes a
 * PKCS#8 or an RFC 5649 blob, so the AES layer and the PKCS#8 are undone in host memory and the key
 * is put with PUT_ASYMMETRIC_KEY. Every buffer that held secret bytes is zeroed before returning
 * (docs/security.md, "Importing keys").
 */
import { createDecipheriv, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { type AsymmetricKeySpec, type ImportWrappingAlgorithm, type ImportWrappingKeySpec, keySpecInfo } from '@kmsgate/core';
import { Algorithm } from './codes';

/** How the device undoes each of AWS's wrapping algorithms (core's IMPORT_WRAPPING_ALGORITHMS). */
export const WRAPPING_ALGORITHM_STEPS = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', mgf1: Algorithm.RSA_MGF1_SHA1, aesWrap: false },
  RSAES_OAEP_SHA_256: { hash: 'sha256', mgf1: Algorithm.RSA_MGF1_SHA256, aesWrap: false },
  RSA_AES_KEY_WRAP_SHA_1: { hash: 'sha1', mgf1: Algorithm.RSA_MGF1_SHA1, aesWrap: true },
  RSA_AES_KEY_WRAP_SHA_256: { hash: 'sha256', mgf1: Algorithm.RSA_MGF1_SHA256, aesWrap: true },
} as const satisfies Record<ImportWrappingAlgorithm, unknown>;

/** AWS's RSA wrapping key specs: the device algorithm of each, and its modulus length (one RSA-OAEP ciphertext). */
export const WRAPPING_KEY_SPECS = {
  RSA_2048: { algorithm: Algorithm.RSA_2048, modulusBytes: 256 },
  RSA_3072: { algorithm: Algorithm.RSA_3072, modulusBytes: 384 },
  RSA_4096: { algorithm: Algorithm.RSA_4096, modulusBytes: 512 },
} as const satisfies Record<ImportWrappingKeySpec, unknown>;

/** The AES key an RSA_AES_KEY_WRAP blob carries (AWS: "a 256-bit AES symmetric key"). */
export const AES_WRAPPING_KEY_LENGTH = 32;

/** Why imported material was refused: AWS's InvalidCiphertextException or IncorrectKeyMaterialException. */
export class ImportMaterialError extends Error {
  readonly kind: 'ciphertext' | 'material';

  constructor(kind: 'ciphertext' | 'material', message: string) {
    super(message);
    this.name = 'ImportMaterialError';
    this.kind = kind;
  }
}

/** The two parts of an RSA_AES_KEY_WRAP blob: the RSA-encrypted AES key and the wrapped material. */
export function splitAesKeyWrap(blob: Uint8Array, modulusBytes: number): { wrappedKey: Uint8Array; wrappedMaterial: Uint8Array } {
  // RFC 5649 output is at least 16 bytes and a multiple of 8.
  const rest = blob.length - modulusBytes;
  if (rest < 16 || rest % 8 !== 0)
    throw new ImportMaterialError('ciphertext', 'The wrapped key material is not an RSA_AES_KEY_WRAP blob for this wrapping key.');
  return { wrappedKey: blob.subarray(0, modulusBytes), wrappedMaterial: blob.subarray(modulusBytes) };
}

/** RFC 5649 unwrap with node:crypto; the integrity check failing is a ciphertext error. */
export function aesKeyUnwrapPadded(key: Uint8Array, wrapped: Uint8Array): Uint8Array {
  if (key.length !== AES_WRAPPING_KEY_LENGTH) throw new ImportMaterialError('ciphertext', 'The wrapped AES key is not 256 bits.');
  try {
    // RFC 5649 §3: the alternative initial value A65959A6, followed by the length the cipher checks.
    const decipher = createDecipheriv('id-aes256-wrap-pad', key, Buffer.from('a65959a6', 'hex'));
    return new Uint8Array(Buffer.concat([decipher.update(wrapped), decipher.final()]));
  } catch {
    throw new ImportMaterialError('ciphertext', 'The wrapped key material does not unwrap under the wrapped AES key.');
  }
}

/** What PUT_ASYMMETRIC_KEY takes for a private key, and the public key (SPKI) it must end up with. */
export interface DeviceKeyMaterial {
  key: Uint8Array;
  publicKey: Uint8Array;
}

const CURVE_NAMES = { p256: 'prime256v1', p384: 'secp384r1', p521: 'secp521r1', secp256k1: 'secp256k1' } as const;

function fromB64url(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

/** Left-pads a big-endian integer to `length` bytes. */
function fixed(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length > length) throw new ImportMaterialError('material', 'The key material has a malformed private key.');
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  bytes.fill(0);
  return out;
}

/**
 * A PKCS#8 DER private key as the device's PUT_ASYMMETRIC_KEY layout for `spec`: EC the scalar at
 * the curve size, Ed25519 the 32-byte seed, RSA `p || q` (each half the modulus; e must be 65537,
 * the only exponent the device uses). Anything else is IncorrectKeyMaterial.
 */
export function deviceKeyFromPkcs8(spec: AsymmetricKeySpec, pkcs8: Uint8Array): DeviceKeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength), format: 'der', type: 'pkcs8' });
  } catch {
    throw new ImportMaterialError('material', 'The key material is not a PKCS#8 DER private key.');
  }
  const info = keySpecInfo(spec);
  const details = key.asymmetricKeyDetails ?? {};
  const mismatch = () => new ImportMaterialError('material', `The key material is not a ${spec} private key.`);
  const publicKey = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const jwk = key.export({ format: 'jwk' });
  if (info.kind === 'ec') {
    if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== CURVE_NAMES[info.curve]) throw mismatch();
    return { key: fixed(fromB64url(jwk.d), info.coordinateLength), publicKey };
  }
  if (info.kind === 'ed25519') {
    if (key.asymmetricKeyType !== 'ed25519') throw mismatch();
    return { key: fixed(fromB64url(jwk.d), 32), publicKey };
  }
  if (info.kind !== 'rsa' || key.asymmetricKeyType !== 'rsa' || details.modulusLength !== info.modulusBits || details.publicExponent !== 65537n)
    throw mismatch();
  const half = info.modulusBits / 16;
  const p = fixed(fromB64url(jwk.p), half);
  const q = fixed(fromB64url(jwk.q), half);
  const out = new Uint8Array(2 * half);
  out.set(p, 0);
  out.set(q, half);
  p.fill(0);
  q.fill(0);
  return { key: out, publicKey };
}
