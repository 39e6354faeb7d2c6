/**
 * AWS KMS enum value sets, exactly as @aws-sdk/client-kms 3.x declares them (alphabetical).
 * Validation accepts every AWS value, so a real-but-unsupported value (SYMMETRIC_DEFAULT, RSA_2048)
 * gets UnsupportedOperationException rather than a misleading "not in enum" error.
 */
export const KEY_SPEC_VALUES = [
  'ECC_NIST_EDWARDS25519',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_1024',
  'ML_KEM_512',
  'ML_KEM_768',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SM2',
  'SYMMETRIC_DEFAULT',
] as const;

export const CUSTOMER_MASTER_KEY_SPEC_VALUES = [
  'ECC_NIST_EDWARDS25519',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SM2',
  'SYMMETRIC_DEFAULT',
] as const;

export const KEY_USAGE_VALUES = ['ENCAPSULATE_DECAPSULATE', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'SIGN_VERIFY'] as const;

export const ORIGIN_VALUES = ['AWS_CLOUDHSM', 'AWS_KMS', 'EXTERNAL', 'EXTERNAL_KEY_STORE'] as const;

export const SIGNING_ALGORITHM_VALUES = [
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_PH_SHA_512',
  'ED25519_SHA_512',
  'ML_DSA_SHAKE_256',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'SM2DSA',
] as const;

export const ENCRYPTION_ALGORITHM_VALUES = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE', 'SYMMETRIC_DEFAULT'] as const;

export const MAC_ALGORITHM_VALUES = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;

export const DATA_KEY_SPEC_VALUES = ['AES_128', 'AES_256'] as const;

export const DATA_KEY_PAIR_SPEC_VALUES = [
  'ECC_NIST_EDWARDS25519',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ML_KEM_1024',
  'ML_KEM_512',
  'ML_KEM_768',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SM2',
] as const;

export const MESSAGE_TYPE_VALUES = ['DIGEST', 'EXTERNAL_MU', 'RAW'] as const;

/** GetParametersForImport WrappingAlgorithm (AlgorithmSpec). */
export const WRAPPING_ALGORITHM_VALUES = [
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSAES_PKCS1_V1_5',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'SM2PKE',
] as const;

/** GetParametersForImport WrappingKeySpec. */
export const WRAPPING_KEY_SPEC_VALUES = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;

/** ImportKeyMaterial ExpirationModel (ExpirationModelType). */
export const EXPIRATION_MODEL_VALUES = ['KEY_MATERIAL_DOES_NOT_EXPIRE', 'KEY_MATERIAL_EXPIRES'] as const;

/** ImportKeyMaterial ImportType. */
export const IMPORT_TYPE_VALUES = ['EXISTING_KEY_MATERIAL', 'NEW_KEY_MATERIAL'] as const;

export type KeySpecValue = (typeof KEY_SPEC_VALUES)[number];
export type KeyUsageValue = (typeof KEY_USAGE_VALUES)[number];
export type OriginValue = (typeof ORIGIN_VALUES)[number];
export type KeyState = 'Creating' | 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport' | 'PendingReplicaDeletion' | 'Unavailable' | 'Updating';
