/**
 * One table for every key spec kmsgate can hold: which signing algorithms AWS allows for it,
 * the hash each algorithm applies, and the digest length a DIGEST message must have.
 * DescribeKey, Sign/Verify validation and the backends all read these tables; only the device
 * algorithm numbers live with each backend.
 * Source: AWS KMS developer guide, "Key spec reference" (asymmetric key specs), and the KMS API
 * reference for CreateKey (KeyUsage per key spec) and Sign (RSA: RFC 8017 encodings; PSS uses
 * MGF1 with the same hash and a salt as long as the digest).
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
  // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2): EMSA-PKCS1-v1_5 with the hash's DigestInfo.
  RSASSA_PKCS1_V1_5_SHA_256: { family: 'rsa-pkcs1', hash: 'sha256', digestLength: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { family: 'rsa-pkcs1', hash: 'sha384', digestLength: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { family: 'rsa-pkcs1', hash: 'sha512', digestLength: 64 },
  // RSASSA-PSS (RFC 8017 §8.1): MGF1 with the same hash, salt length = digest length (AWS).
  RSASSA_PSS_SHA_256: { family: 'rsa-pss', hash: 'sha256', digestLength: 32 },
  RSASSA_PSS_SHA_384: { family: 'rsa-pss', hash: 'sha384', digestLength: 48 },
  RSASSA_PSS_SHA_512: { family: 'rsa-pss', hash: 'sha512', digestLength: 64 },
} as const satisfies Record<string, { family: string; hash: HashName; digestLength: number }>;

export type SupportedSigningAlgorithm = keyof typeof SIGNING_ALGORITHMS;
export type SigningFamily = (typeof SIGNING_ALGORITHMS)[SupportedSigningAlgorithm]['family'];

/**
 * Every RSA key spec allows all six RSASSA algorithms, in the order AWS lists them in
 * KeyMetadata.SigningAlgorithms (developer guide, "Viewing the cryptographic configuration of
 * KMS keys": PKCS#1 v1.5 first, then PSS).
 */
const RSA_SIGNING = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
] as const;

/**
 * RSAES-OAEP as AWS KMS uses it for ENCRYPT_DECRYPT RSA keys (RFC 8017 §7.1): MGF1 over the same
 * hash and an empty label, in the order AWS lists them in KeyMetadata.EncryptionAlgorithms.
 */
export const RSA_ENCRYPTION_ALGORITHMS = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', hashLength: 20 },
  RSAES_OAEP_SHA_256: { hash: 'sha256', hashLength: 32 },
} as const;
export type RsaEncryptionAlgorithm = keyof typeof RSA_ENCRYPTION_ALGORITHMS;
const RSA_ENCRYPTION = Object.keys(RSA_ENCRYPTION_ALGORITHMS) as RsaEncryptionAlgorithm[];

/**
 * The longest message RSAES-OAEP encrypts under a key of `modulusBits`: k − 2·hLen − 2 bytes
 * (RFC 8017 §7.1.1). AWS's limits are these: 214/342/470 bytes with SHA-1, 190/318/446 with SHA-256.
 */
export function rsaOaepMaxPlaintext(modulusBits: number, algorithm: RsaEncryptionAlgorithm): number {
  return modulusBits / 8 - 2 * RSA_ENCRYPTION_ALGORITHMS[algorithm].hashLength - 2;
}

/**
 * `usages` is what kmsgate supports; `awsUsages` is what AWS accepts for the spec
 * (CreateKey KeyUsage). A usage in `awsUsages` but not in `usages` is UnsupportedOperationException;
 * one outside `awsUsages` is AWS's own ValidationException.
 */
export const KEY_SPECS = {
  ECC_NIST_P256: {
    kind: 'ec',
    curve: 'p256',
    coordinateLength: 32,
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    awsUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: ['ECDSA_SHA_256'],
    keyAgreementAlgorithms: ['ECDH'],
  },
  ECC_NIST_P384: {
    kind: 'ec',
    curve: 'p384',
    coordinateLength: 48,
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    awsUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: ['ECDSA_SHA_384'],
    keyAgreementAlgorithms: ['ECDH'],
  },
  ECC_NIST_P521: {
    kind: 'ec',
    curve: 'p521',
    coordinateLength: 66,
    usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    awsUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: ['ECDSA_SHA_512'],
    keyAgreementAlgorithms: ['ECDH'],
  },
  ECC_SECG_P256K1: {
    kind: 'ec',
    curve: 'secp256k1',
    coordinateLength: 32,
    usages: ['SIGN_VERIFY'],
    awsUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ECDSA_SHA_256'],
  },
  ECC_NIST_EDWARDS25519: {
    kind: 'ed25519',
    curve: 'ed25519',
    coordinateLength: 32,
    usages: ['SIGN_VERIFY'],
    awsUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
  },
  // RSA keys always have public exponent 65537 (the YubiHSM 2 generates only that, and AWS too).
  RSA_2048: {
    kind: 'rsa',
    modulusBits: 2048,
    usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    awsUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    signingAlgorithms: RSA_SIGNING,
    encryptionAlgorithms: RSA_ENCRYPTION,
  },
  RSA_3072: {
    kind: 'rsa',
    modulusBits: 3072,
    usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    awsUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    signingAlgorithms: RSA_SIGNING,
    encryptionAlgorithms: RSA_ENCRYPTION,
  },
  RSA_4096: {
    kind: 'rsa',
    modulusBits: 4096,
    usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    awsUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    signingAlgorithms: RSA_SIGNING,
    encryptionAlgorithms: RSA_ENCRYPTION,
  },
  // HMAC keys (GENERATE_VERIFY_MAC); the MAC is as long as the hash. HMAC_224 is absent: the
  // YubiHSM 2 has no HMAC-SHA224 (docs/cryptography.md).
  HMAC_256: {
    kind: 'hmac',
    macLength: 32,
    usages: ['GENERATE_VERIFY_MAC'],
    awsUsages: ['GENERATE_VERIFY_MAC'],
    signingAlgorithms: [],
    macAlgorithms: ['HMAC_SHA_256'],
  },
  HMAC_384: {
    kind: 'hmac',
    macLength: 48,
    usages: ['GENERATE_VERIFY_MAC'],
    awsUsages: ['GENERATE_VERIFY_MAC'],
    signingAlgorithms: [],
    macAlgorithms: ['HMAC_SHA_384'],
  },
  HMAC_512: {
    kind: 'hmac',
    macLength: 64,
    usages: ['GENERATE_VERIFY_MAC'],
    awsUsages: ['GENERATE_VERIFY_MAC'],
    signingAlgorithms: [],
    macAlgorithms: ['HMAC_SHA_512'],
  },
  // AWS's default key: 256-bit symmetric, ENCRYPT_DECRYPT only (docs/cryptography.md for kmsgate's format).
  SYMMETRIC_DEFAULT: {
    kind: 'symmetric',
    usages: ['ENCRYPT_DECRYPT'],
    awsUsages: ['ENCRYPT_DECRYPT'],
    signingAlgorithms: [],
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
  },
} as const satisfies Record<string, KeySpecInfo>;

interface KeySpecCommon {
  usages: readonly string[];
  awsUsages: readonly string[];
  signingAlgorithms: readonly SupportedSigningAlgorithm[];
  /** KeyMetadata.EncryptionAlgorithms; absent for keys that do not encrypt. */
  encryptionAlgorithms?: readonly EncryptionAlgorithm[];
  /** KeyMetadata.KeyAgreementAlgorithms of the spec's KEY_AGREEMENT keys. */
  keyAgreementAlgorithms?: readonly 'ECDH'[];
  /** KeyMetadata.MacAlgorithms; absent for keys that make no MACs. */
  macAlgorithms?: readonly MacAlgorithm[];
}

/** The MacAlgorithmSpec values kmsgate serves (AWS also has HMAC_SHA_224). */
export type MacAlgorithm = 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';

/** The EncryptionAlgorithmSpec values kmsgate serves (AWS also has SM2PKE, China only). */
export type EncryptionAlgorithm = 'SYMMETRIC_DEFAULT' | RsaEncryptionAlgorithm;

export type KeySpecInfo =
  | (KeySpecCommon & { kind: 'ec'; curve: 'p256' | 'p384' | 'p521' | 'secp256k1'; coordinateLength: number })
  | (KeySpecCommon & { kind: 'ed25519'; curve: 'ed25519'; coordinateLength: 32 })
  | (KeySpecCommon & { kind: 'rsa'; modulusBits: 2048 | 3072 | 4096 })
  | (KeySpecCommon & { kind: 'symmetric' })
  | (KeySpecCommon & { kind: 'hmac'; macLength: 32 | 48 | 64 });

export type SupportedKeySpec = keyof typeof KEY_SPECS;
/** Key specs with a public key (everything but SYMMETRIC_DEFAULT and HMAC). */
export type AsymmetricKeySpec = Exclude<SupportedKeySpec, 'SYMMETRIC_DEFAULT' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512'>;
export type KeyKind = KeySpecInfo['kind'];
export type Curve = Extract<KeySpecInfo, { curve: string }>['curve'];

/** The table entry with its kind as a discriminant, for code that branches on the kind. */
export function keySpecInfo(spec: SupportedKeySpec): KeySpecInfo {
  return KEY_SPECS[spec];
}

export function isAsymmetricKeySpec(spec: SupportedKeySpec): spec is AsymmetricKeySpec {
  const kind = KEY_SPECS[spec].kind;
  return kind !== 'symmetric' && kind !== 'hmac';
}

export function isSupportedKeySpec(spec: string): spec is SupportedKeySpec {
  return Object.prototype.hasOwnProperty.call(KEY_SPECS, spec);
}

export function isSupportedSigningAlgorithm(alg: string): alg is SupportedSigningAlgorithm {
  return Object.prototype.hasOwnProperty.call(SIGNING_ALGORITHMS, alg);
}
