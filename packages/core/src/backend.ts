import type { KeyUsageValue } from './kms/enums';
import type { AsymmetricKeySpec, RsaEncryptionAlgorithm, SupportedKeySpec, SupportedSigningAlgorithm } from './kms/key-specs';

export type BackendKind = 'yubihsm' | 'tee';
export type ConnectionState = 'CONNECTED' | 'DISCONNECTED' | 'FAILED';

export interface BackendDescription {
  id: string;
  kind: BackendKind;
  name: string;
  /** Live check, not a cached flag. */
  connectionState: ConnectionState;
  keySpecs: readonly SupportedKeySpec[];
  signingAlgorithms: readonly SupportedSigningAlgorithm[];
  /** Shown in /health so an operator never mistakes a simulator for hardware. */
  simulated: boolean;
  /** Why a FAILED backend failed, in the terms DescribeCustomKeyStores' ConnectionErrorCode needs. */
  failure?: 'network' | 'credentials' | 'internal';
  detail?: Record<string, string | number | boolean>;
  /** A backend that spreads its keys over several devices (a YubiHSM 2 device pool): each one's live state. */
  devices?: readonly DeviceState[];
}

export interface DeviceState {
  /** The device's serial number, as configured. */
  serial: number;
  connectionState: ConnectionState;
  failure?: 'network' | 'credentials' | 'internal';
  /** Why it failed, in a few words (`connector unreachable`, `wrong device serial`); never a secret. */
  error?: string;
}

export interface GeneratedKey {
  /** Opaque to everything but the backend (for YubiHSM 2: `<device serial>:<object id>`). */
  handle: string;
  /** DER SubjectPublicKeyInfo; empty for a symmetric key. */
  publicKey: Uint8Array;
}

/** The RSA wrapping key specs kmsgate imports under (AWS's, less China-only SM2). */
export const IMPORT_WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type ImportWrappingKeySpec = (typeof IMPORT_WRAPPING_KEY_SPECS)[number];

/**
 * AWS's wrapping algorithms for asymmetric key material that kmsgate takes: RSAES_PKCS1_V1_5 was
 * withdrawn by AWS on 2023-10-10 and SM2PKE is China-only.
 */
export const IMPORT_WRAPPING_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const;
export type ImportWrappingAlgorithm = (typeof IMPORT_WRAPPING_ALGORITHMS)[number];

/** The wrapping key of one GetParametersForImport, as the backend made it. */
export interface ImportWrapping {
  handle: string;
  /** DER SPKI, as handed to the client. */
  publicKey: Uint8Array;
  spec: ImportWrappingKeySpec;
  algorithm: ImportWrappingAlgorithm;
}

/**
 * A backend that can take an existing private key the way AWS KMS imports one: an RSA wrapping
 * key pair made in the backend, key material wrapped for its public half. Where the material is
 * unwrapped is the backend's to say (docs/security.md, "Importing keys"). Bad material throws
 * InvalidCiphertextException (it does not decrypt) or IncorrectKeyMaterialException (it is not a
 * private key of the spec, or not the key already imported) and leaves nothing behind.
 */
export interface KeyImporter {
  createImportWrappingKey(spec: ImportWrappingKeySpec, label: string): Promise<GeneratedKey>;
  /** Puts the unwrapped key in the backend as a signing key of `spec`, exactly as generateKey would have made it. */
  importKey(spec: AsymmetricKeySpec, label: string, wrapping: ImportWrapping, encrypted: Uint8Array): Promise<GeneratedKey>;
  /** A reimport: checks the material is the private key of `publicKey` and puts nothing. */
  checkReimport(spec: AsymmetricKeySpec, wrapping: ImportWrapping, encrypted: Uint8Array, publicKey: Uint8Array): Promise<void>;
  deleteImportWrappingKey(wrapping: ImportWrapping): Promise<void>;
}

/**
 * What the gateway needs from a place that holds keys. Private key material never crosses this
 * interface. Backends throw `KmsError` (KeyUnavailableException, DependencyTimeoutException,
 * KMSInternalException, LimitExceededException) so failures render as AWS errors.
 */
export interface KeyBackend {
  readonly id: string;
  readonly kind: BackendKind;
  /** Static: what this backend can hold and sign, known without a device call. */
  readonly keySpecs: readonly SupportedKeySpec[];
  readonly signingAlgorithms: readonly SupportedSigningAlgorithm[];
  describe(): Promise<BackendDescription>;
  /** `usage` picks what the key may do where a spec allows more than one (an EC key signs or agrees keys; default SIGN_VERIFY). */
  generateKey(spec: SupportedKeySpec, label: string, usage?: KeyUsageValue): Promise<GeneratedKey>;
  getPublicKey(handle: string, spec: SupportedKeySpec): Promise<Uint8Array>;
  /**
   * `input` is the digest for ECDSA and RSA (already hashed by the caller, of the algorithm's
   * length) and the whole message for pure Ed25519. Returns the AWS encoding: DER for ECDSA, 64
   * raw bytes for Ed25519, the RFC 8017 signature (modulus length) for RSASSA-PKCS1-v1_5 and
   * RSASSA-PSS (MGF1 with the signing hash, salt as long as the digest).
   *
   * `publicKey` is the key's DER SPKI as recorded when the key was created: a backend that can
   * reach a key on more than one device (a YubiHSM 2 device pool) checks each device holds exactly
   * this key before it first signs there.
   */
  sign(handle: string, spec: SupportedKeySpec, algorithm: SupportedSigningAlgorithm, input: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
  /** `publicKey` as for sign(): a device whose object under this handle holds another key is left alone. */
  deleteKey(handle: string, spec: SupportedKeySpec, publicKey: Uint8Array): Promise<void>;
  random(length: number): Promise<Uint8Array>;
  /**
   * SYMMETRIC_DEFAULT keys (docs/cryptography.md): encrypts and authenticates `payload` (a data
   * key and its digest, SEALED_PAYLOAD_LENGTH bytes) under the key, inside the backend, so that
   * only unseal() with the same key opens it. Absent on a backend that holds no symmetric keys.
   */
  seal?(handle: string, payload: Uint8Array): Promise<Uint8Array>;
  /** Opens what seal() made with this key; InvalidCiphertextException (empty message) for anything else. */
  unseal?(handle: string, sealed: Uint8Array): Promise<Uint8Array>;
  /** Present where the backend can import keys; it holds the credential that may (a key admin). */
  readonly importer?: KeyImporter;
  /** HMAC keys: the key's HMAC of `message`, made inside the backend. Absent on a backend without HMAC keys. */
  generateMac?(handle: string, spec: SupportedKeySpec, message: Uint8Array): Promise<Uint8Array>;
  /**
   * KEY_AGREEMENT keys: ECDH with the peer's uncompressed point, inside the backend; the shared X
   * coordinate. `publicKey` as for sign(). Absent on a backend without key agreement.
   */
  deriveSharedSecret?(handle: string, spec: SupportedKeySpec, peerPoint: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
  /**
   * ENCRYPT_DECRYPT RSA keys: RSAES-OAEP decryption inside the backend (MGF1 over the algorithm's
   * hash, empty label). InvalidCiphertextException (empty message) for a ciphertext that does not
   * decrypt under the key. `publicKey` as for sign(). Absent on a backend without RSA decryption.
   */
  decryptOaep?(handle: string, spec: SupportedKeySpec, algorithm: RsaEncryptionAlgorithm, ciphertext: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
  /** Whether `mac` is the key's HMAC of `message`, compared inside the backend. */
  verifyMac?(handle: string, spec: SupportedKeySpec, message: Uint8Array, mac: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}
