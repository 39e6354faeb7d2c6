import type { SupportedKeySpec, SupportedSigningAlgorithm } from './kms/key-specs';

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
  generateKey(spec: SupportedKeySpec, label: string): Promise<GeneratedKey>;
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
  close(): Promise<void>;
}
