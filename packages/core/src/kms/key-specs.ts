/**
 * One table for every key spec kmsgate can hold: which signing algorithms AWS allows for it,
 * the hash each algorithm applies, and the digest length a DIGEST message must have.
 * DescribeKey, Sign/Verify validation and the backends all read these tables.
 * Source: AWS KMS developer guide, "Key spec reference" (asymmetric key specs).
 */
export type HashName = 'sha256' | 'sha384' | 'sha512';

export const SIGNING_ALGORITHMS = {
  ECDSA_SHA_256: { family: 'ecdsa', hash: 'sha256', digestLength: 32 },
  ECDSA_SHA_384: { family: 'ecdsa', hash: 'sha384', digestLength: 48 },
  ECDSA_SHA_512: { family: 'ecdsa', hash: 'sha512', digestLength: 64 },
  // Pure Ed25519: the message itself is signed (SHA-512 is internal to EdDSA); RAW only.
  ED25519_SHA_512: { family: 'eddsa', hash: 'sha512', digestLength: 64 },
  // Ed25519ph (RFC 8032 prehash variant); AWS accepts it only with MessageType DIGEST.
  ED25519_PH_SHA_512: { family: 'eddsa-ph', hash: 'sha512', digestLength: 64 },
} as const satisfies Record<string, { family: string; hash: HashName; digestLength: number }>;

export type SupportedSigningAlgorithm = keyof typeof SIGNING_ALGORITHMS;

export const KEY_SPECS = {
  ECC_NIST_P256: { kind: 'ec', curve: 'p256', coordinateLength: 32, usages: ['SIGN_VERIFY'], signingAlgorithms: ['ECDSA_SHA_256'] },
  ECC_NIST_P384: { kind: 'ec', curve: 'p384', coordinateLength: 48, usages: ['SIGN_VERIFY'], signingAlgorithms: ['ECDSA_SHA_384'] },
  ECC_SECG_P256K1: { kind: 'ec', curve: 'secp256k1', coordinateLength: 32, usages: ['SIGN_VERIFY'], signingAlgorithms: ['ECDSA_SHA_256'] },
  ECC_NIST_EDWARDS25519: { kind: 'ed25519', curve: 'ed25519', coordinateLength: 32, usages: ['SIGN_VERIFY'], signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] },
} as const satisfies Record<string, {
  kind: 'ec' | 'ed25519';
  curve: 'p256' | 'p384' | 'secp256k1' | 'ed25519';
  coordinateLength: number;
  usages: readonly string[];
  signingAlgorithms: readonly SupportedSigningAlgorithm[];
}>;

export type SupportedKeySpec = keyof typeof KEY_SPECS;
export type Curve = (typeof KEY_SPECS)[SupportedKeySpec]['curve'];

export function isSupportedKeySpec(spec: string): spec is SupportedKeySpec {
  return Object.prototype.hasOwnProperty.call(KEY_SPECS, spec);
}

export function isSupportedSigningAlgorithm(alg: string): alg is SupportedSigningAlgorithm {
  return Object.prototype.hasOwnProperty.call(SIGNING_ALGORITHMS, alg);
}
