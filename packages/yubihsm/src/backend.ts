/**
 * KeyBackend over a YubiHSM 2 reached through yubihsm-connector, or over a pool of YubiHSM 2s
 * that hold the same keys. Keys are generated on a device and never leave it; the handle is
 * `<device serial>:<object ID>`. With one connector, every command on a key goes only to the device
 * with that serial; in a pool, to any configured device that shows it holds the key's recorded
 * public key. Every failure leaves here as a core KmsError whose message names the backend but
 * never a password or key.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import {
  type AsymmetricKeySpec,
  type BackendDescription,
  type DeviceState,
  type GeneratedKey,
  type HashName,
  type ImportWrapping,
  type ImportWrappingKeySpec,
  KEY_SPECS,
  type KeyImporter,
  type KeyKind,
  type KeyUsageValue,
  type KeyBackend,
  KmsError,
  type RsaEncryptionAlgorithm,
  SIGNING_ALGORITHMS,
  type SupportedKeySpec,
  type SupportedSigningAlgorithm,
  SEALED_PAYLOAD_LENGTH,
  invalidCiphertext,
  keySpecInfo,
  spkiFromRawPublicKey,
} from '@kmsgate/core';
import { assertInt, assertString } from './check';
import { Algorithm, Capability, Command, ObjectType, algorithmName } from './codes';
import { MAX_EDDSA_MESSAGE, MAX_HMAC_DATA, type ClientStats, type GeneratedObject, YubiHsmClient } from './client';
import { ConnectorError, DeviceError, DeviceErrorCode, ProtocolError, WrongDeviceError } from './errors';
import { WRAP_DATA_OVERHEAD } from './commands/wrap-data';
import {
  type DeviceKeyMaterial,
  ImportMaterialError,
  WRAPPING_ALGORITHM_STEPS,
  WRAPPING_KEY_SPECS,
  aesKeyUnwrapPadded,
  deviceKeyFromPkcs8,
  splitAesKeyWrap,
} from './key-import';
import { DevicePool, type DevicePoolStats, type FailoverEvent, KeyMismatchError, type PoolDevice, describeFailure } from './device-pool';
import type { AuthKey } from './scp03/kdf';
import { MAX_SERIAL } from './session';
import { isSimulatedDevice } from './simulator-identity';
import { LABEL_LENGTH } from './wire';

/** The device algorithm behind each key spec (python `ALGORITHM`, `yh_algorithm`). */
export const KEY_SPEC_ALGORITHM = {
  ECC_NIST_P256: Algorithm.EC_P256,
  ECC_NIST_P384: Algorithm.EC_P384,
  ECC_NIST_P521: Algorithm.EC_P521,
  ECC_SECG_P256K1: Algorithm.EC_K256,
  ECC_NIST_EDWARDS25519: Algorithm.EC_ED25519,
  RSA_2048: Algorithm.RSA_2048,
  RSA_3072: Algorithm.RSA_3072,
  RSA_4096: Algorithm.RSA_4096,
  // A wrap key: the only object whose key the device uses for data without ever releasing it
  // (WRAP_DATA / UNWRAP_DATA); docs/cryptography.md.
  SYMMETRIC_DEFAULT: Algorithm.AES256_CCM_WRAP,
  HMAC_256: Algorithm.HMAC_SHA256,
  HMAC_384: Algorithm.HMAC_SHA384,
  HMAC_512: Algorithm.HMAC_SHA512,
} as const satisfies Record<SupportedKeySpec, number>;

/**
 * What a generated key may do, by kind (plus exportable-under-wrap where allowed: exportability()).
 * An RSA key gets both sign-pkcs and sign-pss, since one AWS RSA key may use all six RSASSA
 * algorithms. A symmetric key's wrap key may wrap and unwrap data, never objects.
 */
export const KEY_CAPABILITIES = {
  ec: Capability.SIGN_ECDSA,
  ed25519: Capability.SIGN_EDDSA,
  rsa: Capability.SIGN_PKCS | Capability.SIGN_PSS,
  symmetric: Capability.WRAP_DATA | Capability.UNWRAP_DATA,
  hmac: Capability.SIGN_HMAC | Capability.VERIFY_HMAC,
} as const satisfies Record<KeyKind, bigint>;

/** The device object type of each kind of key. */
export const KEY_OBJECT_TYPE = {
  ec: ObjectType.ASYMMETRIC_KEY,
  ed25519: ObjectType.ASYMMETRIC_KEY,
  rsa: ObjectType.ASYMMETRIC_KEY,
  symmetric: ObjectType.WRAP_KEY,
  hmac: ObjectType.HMAC_KEY,
} as const satisfies Record<KeyKind, number>;

function objectType(spec: SupportedKeySpec): number {
  return KEY_OBJECT_TYPE[KEY_SPECS[spec].kind];
}

/** Keys with no public part: nothing to record at creation, nothing to compare a pool device's copy with. */
function secretOnly(spec: SupportedKeySpec): boolean {
  return KEY_OBJECT_TYPE[KEY_SPECS[spec].kind] !== ObjectType.ASYMMETRIC_KEY;
}

/** SIGN_PSS's MGF1 algorithm for AWS's RSASSA_PSS_*: MGF1 over the signing hash. */
const MGF1_ALGORITHM = {
  sha256: Algorithm.RSA_MGF1_SHA256,
  sha384: Algorithm.RSA_MGF1_SHA384,
  sha512: Algorithm.RSA_MGF1_SHA512,
} as const satisfies Record<HashName, number>;

const KEY_SPECS_SUPPORTED = Object.keys(KEY_SPEC_ALGORITHM) as SupportedKeySpec[];
/** Ed25519ph is absent: SIGN_EDDSA signs the message itself, the device has no prehash variant. */
const SIGNING_ALGORITHMS_SUPPORTED: readonly SupportedSigningAlgorithm[] = [
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
];

export interface ConnectorOptions {
  /** Base URL of the yubihsm-connector in front of the device. */
  url: string;
  /** The device's serial number: a session to any other device is refused. */
  serial: number;
}

export interface YubiHsmBackendOptions {
  id: string;
  name?: string;
  /** One device: its connector. Exactly one of `connectorUrl` or `connectors`. */
  connectorUrl?: string;
  /**
   * A device pool: devices holding the same keys (restored from one wrapped backup), each named by
   * its serial. Signing is spread across them and fails over; see docs/configuration.md.
   */
  connectors?: readonly ConnectorOptions[];
  /** Default 1, the factory authentication key. The same on every device of a pool. */
  authKeyId?: number;
  /** Exactly one of `password` or `authKey`. */
  password?: string;
  authKey?: AuthKey;
  /** 16-bit domain mask for generated keys; default 0x0001 (domain 1). */
  domains?: number;
  /** Per device. */
  maxSessions?: number;
  requestTimeoutMs?: number;
  /** Replace sessions idle this long (default 28 s; the device drops them at 30 s). */
  idleTimeoutMs?: number;
  /** A simulator rather than hardware (an embedded one); shown in describe() so no one mistakes it for an HSM. */
  simulated?: boolean;
  /** With `connectorUrl`: use only the device with this serial; any other is refused before a command reaches it. */
  serial?: number;
  /** A pool device that failed is tried again after this long (default 5 s), or sooner if all have failed. */
  deviceRetryAfterMs?: number;
  /** Clock of the pool's failure bookkeeping (tests). */
  now?: () => number;
  /** Told each time a command moves to another device of the pool (the server logs it). */
  onFailover?: (event: FailoverEvent) => void;
  /** Releases a device's full log (force audit's LOG_FULL) before the refused command runs again; see DevicePoolOptions. */
  onLogFull?: (serial: number | undefined) => Promise<void>;
}

type Operation = 'generateKey' | 'getPublicKey' | 'sign' | 'deleteKey' | 'random' | 'seal' | 'unseal' | 'importKey' | 'mac' | 'derive' | 'decrypt';

export type YubiHsmBackendStats = ClientStats & DevicePoolStats;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The devices of the options, checked: one `connectorUrl`, or a list of distinct devices with serials. */
function deviceList(options: YubiHsmBackendOptions): { url: string; serial?: number }[] {
  if ((options.connectorUrl === undefined) === (options.connectors === undefined)) throw new TypeError('give exactly one of connectorUrl or connectors');
  if (options.connectorUrl !== undefined) {
    assertString('connectorUrl', options.connectorUrl);
    return [{ url: options.connectorUrl, serial: options.serial }];
  }
  if (!Array.isArray(options.connectors)) throw new TypeError('connectors must be an array');
  if (options.connectors.length < 1 || options.connectors.length > MAX_POOL_DEVICES)
    throw new RangeError(`connectors must list 1 to ${MAX_POOL_DEVICES} devices`);
  if (options.serial !== undefined) throw new TypeError('serial goes with connectorUrl; give each of connectors its own');
  const list = options.connectors.map((c, i) => {
    if (typeof c !== 'object' || c === null) throw new TypeError(`connectors[${i}] must be an object`);
    assertString(`connectors[${i}].url`, c.url);
    assertInt(`connectors[${i}].serial`, c.serial, 0, MAX_SERIAL);
    return { url: c.url, serial: c.serial };
  });
  if (new Set(list.map((d) => d.serial)).size !== list.length) throw new RangeError('connectors must name distinct serials');
  return list;
}

/** What seal() returns: the payload under WRAP_DATA. */
const SEALED_LENGTH = SEALED_PAYLOAD_LENGTH + WRAP_DATA_OVERHEAD;

/** A YubiHSM 2 key handle, `<device serial>:<object id>`, taken apart; undefined for anything else. */
export function parseKeyHandle(handle: string): GeneratedObject | undefined {
  const m = typeof handle === 'string' ? /^(0|[1-9][0-9]{0,9}):([1-9][0-9]{0,4})$/.exec(handle) : null;
  const deviceSerial = Number(m?.[1]);
  const id = Number(m?.[2]);
  return m && deviceSerial <= MAX_SERIAL && id <= 0xfffe ? { id, deviceSerial } : undefined;
}

/** A pool is a few devices in front of one set of keys; more only multiplies session slots. */
export const MAX_POOL_DEVICES = 16;

export class YubiHsmBackend implements KeyBackend, KeyImporter {
  readonly id: string;
  readonly kind = 'yubihsm' as const;
  readonly name: string;
  readonly keySpecs: readonly SupportedKeySpec[] = KEY_SPECS_SUPPORTED;
  readonly signingAlgorithms: readonly SupportedSigningAlgorithm[] = SIGNING_ALGORITHMS_SUPPORTED;
  readonly #configuredSimulated: boolean;
  /** A device answered DEVICE_INFO as yubihsm-sim does (isSimulatedDevice): a connector URL alone cannot tell. */
  #deviceSaysSimulated = false;
  readonly domains: number;
  /** The serial configured with `connectorUrl`. */
  readonly serial: number | undefined;
  /**
   * Configured with `connectors`: every device is named by serial, a key may be used on any of
   * them once that device shows it holds the key's recorded public key. Otherwise the one device
   * is trusted only for keys whose handle carries its serial.
   */
  readonly listed: boolean;
  readonly #pool: DevicePool;
  #closed = false;
  #exportability: Promise<bigint> | undefined;

  constructor(options: YubiHsmBackendOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    assertString('id', options.id);
    if (options.id.length === 0) throw new RangeError('id must not be empty');
    const domains = options.domains ?? 0x0001;
    assertInt('domains', domains, 1, 0xffff);
    const devices = deviceList(options);
    this.id = options.id;
    // Not the connector URL: the name is shown on the unauthenticated /health.
    this.name = options.name ?? `YubiHSM 2 (${options.id})`;
    this.#configuredSimulated = options.simulated ?? false;
    this.domains = domains;
    this.serial = options.serial;
    this.listed = options.connectors !== undefined;
    this.#pool = new DevicePool({
      devices: devices.map((d) => ({
        connectorUrl: d.url,
        serial: d.serial,
        authKeyId: options.authKeyId,
        password: options.password,
        authKey: options.authKey,
        maxSessions: options.maxSessions,
        requestTimeoutMs: options.requestTimeoutMs,
        idleTimeoutMs: options.idleTimeoutMs,
      })),
      retryAfterMs: options.deviceRetryAfterMs,
      now: options.now,
      onFailover: options.onFailover,
      onLogFull: options.onLogFull,
    });
  }

  /** The first device's client (with `connectorUrl`, the only one): for tests and tools. */
  get client(): YubiHsmClient {
    return this.#pool.devices[0]!.client;
  }

  /** Simulated: configured so (an embedded simulator), or a device has said so since this backend started. */
  get simulated(): boolean {
    return this.#configuredSimulated || this.#deviceSaysSimulated;
  }

  async describe(): Promise<BackendDescription> {
    const base = () => ({
      id: this.id,
      kind: this.kind,
      name: this.name,
      keySpecs: this.keySpecs,
      signingAlgorithms: this.signingAlgorithms,
      simulated: this.simulated,
    });
    const devices = this.#pool.devices;
    if (this.#closed) {
      const closed = this.listed ? { devices: devices.map((d) => ({ serial: d.serial!, connectionState: 'DISCONNECTED' as const })) } : {};
      return { ...base(), connectionState: 'DISCONNECTED', detail: {}, ...closed };
    }
    const onSimulated = () => {
      this.#deviceSaysSimulated = true;
    };
    if (!this.listed) {
      const check = await describeDevice(devices[0]!.client, onSimulated);
      return { ...base(), ...check };
    }
    const states = await Promise.all(devices.map(async (d) => ({ device: d, ...(await describeDevice(d.client, onSimulated)) })));
    const connected = states.filter((s) => s.connectionState === 'CONNECTED').length;
    const detail = { devices: states.length, devicesConnected: connected };
    const deviceStates: DeviceState[] = states.map((s) => ({
      serial: s.device.serial!,
      connectionState: s.connectionState,
      ...(s.failure ? { failure: s.failure } : {}),
      ...(typeof s.detail.error === 'string' ? { error: s.detail.error } : {}),
    }));
    // Serving while any device serves: that is what the pool is for.
    if (connected > 0) return { ...base(), connectionState: 'CONNECTED', detail, devices: deviceStates };
    return { ...base(), connectionState: 'FAILED', failure: states[0]!.failure, detail, devices: deviceStates };
  }

  async generateKey(spec: SupportedKeySpec, label: string, usage?: KeyUsageValue): Promise<GeneratedKey> {
    const algorithm = this.algorithmFor(spec);
    assertString('label', label);
    const labelLength = new TextEncoder().encode(label).length;
    if (labelLength > LABEL_LENGTH) throw new RangeError(`label must be at most ${LABEL_LENGTH} bytes of UTF-8, got ${labelLength}`);
    this.refuseInPool('create keys');
    const client = this.client;
    const kind = KEY_SPECS[spec].kind;
    let key: GeneratedObject;
    try {
      // An EC key agrees keys or signs, an RSA key decrypts or signs, never both (AWS's KeyUsage is exclusive).
      if (usage === 'KEY_AGREEMENT' && kind !== 'ec') throw new KmsError('UnsupportedOperationException', `${spec} keys do not agree keys.`);
      const capabilities =
        (usage === 'KEY_AGREEMENT'
          ? Capability.DERIVE_ECDH
          : usage === 'ENCRYPT_DECRYPT' && kind === 'rsa'
            ? Capability.DECRYPT_OAEP
            : KEY_CAPABILITIES[kind]) | (await this.exportability());
      const header = { id: 0, label, domains: this.domains, capabilities, algorithm };
      key =
        kind === 'symmetric'
          ? // Nothing may be exported or imported under it: it wraps data only.
            await client.generateWrapKey({ ...header, delegatedCapabilities: 0n })
          : kind === 'hmac'
            ? await client.generateHmacKey(header)
            : await client.generateAsymmetricKey(header);
    } catch (e) {
      throw this.toKmsError(e, 'generateKey');
    }
    if (secretOnly(spec)) return { handle: `${key.deviceSerial}:${key.id}`, publicKey: new Uint8Array(0) };
    try {
      return { handle: `${key.deviceSerial}:${key.id}`, publicKey: await publicKeyOf(client, key.id, key.deviceSerial, spec, this.id) };
    } catch (e) {
      // Do not leave a key on the device that no KMS record will ever point to.
      await client.deleteObject(key.id, ObjectType.ASYMMETRIC_KEY, key.deviceSerial).catch(() => undefined);
      throw this.toKmsError(e, 'generateKey');
    }
  }

  async getPublicKey(handle: string, spec: SupportedKeySpec): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    if (secretOnly(spec)) throw new KmsError('UnsupportedOperationException', `${spec} keys have no public key.`);
    try {
      return await this.#pool.run('getPublicKey', (d) => publicKeyOf(d.client, key.id, this.expectedSerial(d, key), spec, this.id), { objectId: key.id });
    } catch (e) {
      throw this.toKmsError(e, 'getPublicKey');
    }
  }

  async sign(handle: string, spec: SupportedKeySpec, algorithm: SupportedSigningAlgorithm, input: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    const allowed = (KEY_SPECS[spec].signingAlgorithms as readonly string[]).includes(algorithm);
    if (!allowed) throw new KmsError('InvalidKeyUsageException', `${algorithm} is not a signing algorithm of ${spec} keys.`);
    if (!this.signingAlgorithms.includes(algorithm)) {
      throw new KmsError('UnsupportedOperationException', `The YubiHSM 2 backend ${this.id} does not support ${algorithm}.`);
    }
    if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
    if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array');
    const family = SIGNING_ALGORITHMS[algorithm].family;
    if (family === 'eddsa' && input.length > MAX_EDDSA_MESSAGE) {
      throw new KmsError('UnsupportedOperationException', `The YubiHSM 2 backend ${this.id} signs Ed25519 messages of at most ${MAX_EDDSA_MESSAGE} bytes.`);
    }
    if (family !== 'eddsa') {
      const digestLength = SIGNING_ALGORITHMS[algorithm].digestLength;
      if (input.length !== digestLength) throw new RangeError(`input must be the ${digestLength}-byte digest for ${algorithm}, got ${input.length}`);
    }
    let signature: Uint8Array;
    try {
      // A signature that may have been made on a device that then failed is made again on the
      // next one: the same key over the same input, so in effect the same answer. The caller
      // records and counts this call once, whichever device answered.
      signature = await this.#pool.run(
        'sign',
        async (d) => {
          const serial = this.expectedSerial(d, key);
          await this.checkCopy(d, key, spec, publicKey);
          if (family === 'ecdsa') return d.client.signEcdsa(key.id, input, serial);
          if (family === 'eddsa') return d.client.signEddsa(key.id, input, serial);
          // The device adds the DigestInfo to the bare hash (PKCS#1 v1.5). AWS's PSS: MGF1 over
          // the signing hash, salt as long as the digest.
          const { hash, digestLength } = SIGNING_ALGORITHMS[algorithm];
          return family === 'rsa-pkcs1'
            ? d.client.signPkcs1(key.id, input, serial)
            : d.client.signPss(key.id, MGF1_ALGORITHM[hash], digestLength, input, serial);
        },
        { objectId: key.id },
      );
    } catch (e) {
      throw this.toKmsError(e, 'sign');
    }
    const info = keySpecInfo(spec);
    if (info.kind === 'rsa' && signature.length !== info.modulusBits / 8) {
      throw new KmsError(
        'KMSInternalException',
        `The YubiHSM 2 backend ${this.id} returned a ${signature.length}-byte ${algorithm} signature for a ${spec} key.`,
      );
    }
    return signature;
  }

  /**
   * Deleting a key that is already gone succeeds: the wanted end state holds. In a pool the key is
   * deleted from every device; a device whose object holds another key is left alone, and if any
   * device cannot be reached the call fails after trying them all (a retry finishes the job).
   */
  async deleteKey(handle: string, spec: SupportedKeySpec, publicKey: Uint8Array): Promise<void> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array');
    const outcomes = await Promise.allSettled(
      this.#pool.devices.map(async (d) => {
        try {
          await this.checkCopy(d, key, spec, publicKey);
          await d.client.deleteObject(key.id, objectType(spec), this.expectedSerial(d, key));
        } catch (e) {
          if (e instanceof KeyMismatchError) return;
          if (e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND && e.command !== Command.CREATE_SESSION) return;
          throw e;
        } finally {
          d.verified.delete(key.id);
        }
      }),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw this.toKmsError(failed.reason, 'deleteKey');
  }

  /** This backend imports with its own credential; KeyAdminBackend routes imports to its key admin. */
  get importer(): KeyImporter {
    return this;
  }

  /**
   * An RSA key pair for GetParametersForImport: its private half stays in the device and can do
   * nothing but RSA-OAEP-decrypt (never exportable), its public half (SPKI) goes to the client.
   */
  async createImportWrappingKey(spec: ImportWrappingKeySpec, label: string): Promise<GeneratedKey> {
    if (!Object.prototype.hasOwnProperty.call(WRAPPING_KEY_SPECS, spec))
      throw new RangeError(`spec must be one of ${Object.keys(WRAPPING_KEY_SPECS).join(', ')}`);
    assertString('label', label);
    this.refuseInPool('import keys');
    const client = this.client;
    let key: GeneratedObject;
    try {
      key = await client.generateAsymmetricKey({
        id: 0,
        label,
        domains: this.domains,
        capabilities: Capability.DECRYPT_OAEP,
        algorithm: WRAPPING_KEY_SPECS[spec].algorithm,
      });
    } catch (e) {
      throw this.toKmsError(e, 'generateKey');
    }
    try {
      return { handle: `${key.deviceSerial}:${key.id}`, publicKey: await publicKeyOf(client, key.id, key.deviceSerial, spec, this.id) };
    } catch (e) {
      await client.deleteObject(key.id, ObjectType.ASYMMETRIC_KEY, key.deviceSerial).catch(() => undefined);
      throw this.toKmsError(e, 'generateKey');
    }
  }

  /**
   * Unwraps AWS-format key material (src/key-import.ts) and puts it into the device as a signing
   * key of `spec`, exactly as generateKey would have made it, then checks the device holds the
   * material's public key.
   */
  async importKey(spec: AsymmetricKeySpec, label: string, wrapping: ImportWrapping, encrypted: Uint8Array): Promise<GeneratedKey> {
    const algorithm = this.algorithmFor(spec);
    assertString('label', label);
    return this.withUnwrapped(spec, wrapping, encrypted, async (material) => {
      const client = this.client;
      // Exportable under wrap where generated keys are: an imported key is backed up like any other.
      const capabilities = KEY_CAPABILITIES[KEY_SPECS[spec].kind] | (await this.exportability());
      const key = await client.putAsymmetricKey({ id: 0, label, domains: this.domains, capabilities, algorithm, key: material.key });
      try {
        const publicKey = await publicKeyOf(client, key.id, key.deviceSerial, spec, this.id);
        if (!sameBytes(publicKey, material.publicKey))
          throw new KmsError('KMSInternalException', `The YubiHSM 2 backend ${this.id} holds another public key than the imported key material has.`);
        return { handle: `${key.deviceSerial}:${key.id}`, publicKey };
      } catch (e) {
        await client.deleteObject(key.id, ObjectType.ASYMMETRIC_KEY, key.deviceSerial).catch(() => undefined);
        throw e;
      }
    });
  }

  async checkReimport(spec: AsymmetricKeySpec, wrapping: ImportWrapping, encrypted: Uint8Array, publicKey: Uint8Array): Promise<void> {
    this.algorithmFor(spec);
    if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array');
    await this.withUnwrapped(spec, wrapping, encrypted, async (material) => {
      if (!sameBytes(material.publicKey, publicKey))
        throw new ImportMaterialError('material', 'The key material is not the key material previously imported into this KMS key.');
    });
  }

  /** Deleting a wrapping key that is already gone succeeds, as for deleteKey. */
  async deleteImportWrappingKey(wrapping: ImportWrapping): Promise<void> {
    await this.deleteKey(wrapping.handle, wrapping.spec, wrapping.publicKey);
  }

  /**
   * The RSA layer is undone by the device (DECRYPT_OAEP with the wrapping key), the AES layer and
   * the PKCS#8 in host memory; every buffer that held secret bytes is zeroed when `use` settles.
   * InvalidCiphertextException: the blob does not decrypt under the wrapping key;
   * IncorrectKeyMaterialException: it decrypts to something other than a `spec` private key.
   */
  private async withUnwrapped<T>(
    spec: AsymmetricKeySpec,
    wrapping: ImportWrapping,
    encrypted: Uint8Array,
    use: (material: DeviceKeyMaterial) => Promise<T>,
  ): Promise<T> {
    if (!(encrypted instanceof Uint8Array)) throw new TypeError('encrypted must be a Uint8Array');
    const how = WRAPPING_ALGORITHM_STEPS[wrapping.algorithm];
    const wrapSpec = WRAPPING_KEY_SPECS[wrapping.spec];
    if (!how || !wrapSpec) throw new RangeError('wrapping must name a wrapping key spec and algorithm');
    this.refuseInPool('import keys');
    const wrap = this.parseHandle(wrapping.handle);
    const client = this.client;
    const secrets: Uint8Array[] = [];
    const labelHash = new Uint8Array(createHash(how.hash).digest());
    const oaep = async (ciphertext: Uint8Array) => {
      if (ciphertext.length !== wrapSpec.modulusBytes) throw new ImportMaterialError('ciphertext', 'The wrapped key material does not fit the wrapping key.');
      try {
        return await client.decryptOaep(wrap.id, how.mgf1, ciphertext, labelHash, wrap.deviceSerial);
      } catch (e) {
        // Bad OAEP padding: the device refuses the data; anything else is the device's own failure.
        if (e instanceof DeviceError && e.code === DeviceErrorCode.INVALID_DATA)
          throw new ImportMaterialError('ciphertext', 'The wrapped key material does not decrypt under the wrapping key.');
        throw e;
      }
    };
    try {
      let pkcs8: Uint8Array;
      if (how.aesWrap) {
        const { wrappedKey, wrappedMaterial } = splitAesKeyWrap(encrypted, wrapSpec.modulusBytes);
        const aesKey = await oaep(wrappedKey);
        secrets.push(aesKey);
        pkcs8 = aesKeyUnwrapPadded(aesKey, wrappedMaterial);
      } else {
        pkcs8 = await oaep(encrypted);
      }
      secrets.push(pkcs8);
      const material = deviceKeyFromPkcs8(spec, pkcs8);
      secrets.push(material.key);
      return await use(material);
    } catch (e) {
      if (e instanceof ImportMaterialError) {
        throw new KmsError(e.kind === 'ciphertext' ? 'InvalidCiphertextException' : 'IncorrectKeyMaterialException', e.message);
      }
      throw this.toKmsError(e, 'importKey');
    } finally {
      for (const b of secrets) b.fill(0);
    }
  }

  async random(length: number): Promise<Uint8Array> {
    assertInt('length', length, 0, 1 << 20);
    try {
      return await this.#pool.run('random', (d) => d.client.getPseudoRandom(length));
    } catch (e) {
      throw this.toKmsError(e, 'random');
    }
  }

  /** WRAP_DATA under the key's wrap key: `nonce(13) ‖ AES-CCM(0x00 ‖ payload) ‖ tag(16)`. */
  async seal(handle: string, payload: Uint8Array): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    if (!(payload instanceof Uint8Array) || payload.length !== SEALED_PAYLOAD_LENGTH) throw new RangeError(`payload must be ${SEALED_PAYLOAD_LENGTH} bytes`);
    try {
      return await this.#pool.run('seal', (d) => d.client.wrapData(key.id, payload, this.expectedSerial(d, key)), { objectId: key.id });
    } catch (e) {
      throw this.toKmsError(e, 'seal');
    }
  }

  /** UNWRAP_DATA: the device checks the CCM tag, so any altered byte, other key or other device fails. */
  async unseal(handle: string, sealed: Uint8Array): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    if (!(sealed instanceof Uint8Array)) throw new TypeError('sealed must be a Uint8Array');
    // Anything else was not made by seal(): refused before it costs a device call.
    if (sealed.length !== SEALED_LENGTH) throw invalidCiphertext();
    try {
      return await this.#pool.run('unseal', (d) => d.client.unwrapData(key.id, sealed, this.expectedSerial(d, key)), { objectId: key.id });
    } catch (e) {
      if (e instanceof DeviceError && e.code === DeviceErrorCode.INVALID_DATA) throw invalidCiphertext();
      throw this.toKmsError(e, 'unseal');
    }
  }

  /** DERIVE_ECDH with the peer's uncompressed point: the X coordinate of the shared point. */
  async deriveSharedSecret(handle: string, spec: SupportedKeySpec, peerPoint: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    const info = keySpecInfo(spec);
    if (info.kind !== 'ec') throw new KmsError('InvalidKeyUsageException', `${spec} keys do not agree keys.`);
    if (!(peerPoint instanceof Uint8Array) || peerPoint.length !== 1 + 2 * info.coordinateLength)
      throw new RangeError(`peerPoint must be the ${1 + 2 * info.coordinateLength}-byte uncompressed point`);
    if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array');
    try {
      return await this.#pool.run(
        'derive',
        async (d) => {
          await this.checkCopy(d, key, spec, publicKey);
          return d.client.deriveEcdh(key.id, peerPoint, this.expectedSerial(d, key));
        },
        { objectId: key.id },
      );
    } catch (e) {
      throw this.toKmsError(e, 'derive');
    }
  }

  /**
   * DECRYPT_OAEP: MGF1 over the algorithm's hash and the hash of the empty label, as AWS's
   * RSAES_OAEP_*. A ciphertext that is not one block of the key's modulus, or whose padding does
   * not check, is InvalidCiphertextException.
   */
  async decryptOaep(
    handle: string,
    spec: SupportedKeySpec,
    algorithm: RsaEncryptionAlgorithm,
    ciphertext: Uint8Array,
    publicKey: Uint8Array,
  ): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    const info = keySpecInfo(spec);
    if (info.kind !== 'rsa') throw new KmsError('InvalidKeyUsageException', `${spec} keys do not decrypt with ${algorithm}.`);
    const how = WRAPPING_ALGORITHM_STEPS[algorithm];
    if (!how) throw new RangeError(`algorithm must be RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256, got ${String(algorithm)}`);
    if (!(ciphertext instanceof Uint8Array)) throw new TypeError('ciphertext must be a Uint8Array');
    if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array');
    if (ciphertext.length !== info.modulusBits / 8) throw invalidCiphertext();
    const labelHash = new Uint8Array(createHash(how.hash).digest());
    try {
      return await this.#pool.run(
        'decrypt',
        async (d) => {
          await this.checkCopy(d, key, spec, publicKey);
          return d.client.decryptOaep(key.id, how.mgf1, ciphertext, labelHash, this.expectedSerial(d, key));
        },
        { objectId: key.id },
      );
    } catch (e) {
      // Bad OAEP padding, or a ciphertext not below the modulus: the device refuses the data.
      if (e instanceof DeviceError && e.code === DeviceErrorCode.INVALID_DATA) throw invalidCiphertext();
      throw this.toKmsError(e, 'decrypt');
    }
  }

  /** SIGN_HMAC; a message longer than one command can carry is refused, not split (HMAC has no streaming command). */
  async generateMac(handle: string, spec: SupportedKeySpec, message: Uint8Array): Promise<Uint8Array> {
    const key = this.macKey(handle, spec, message);
    try {
      return await this.#pool.run('mac', (d) => d.client.signHmac(key.id, message, this.expectedSerial(d, key)), { objectId: key.id });
    } catch (e) {
      throw this.toKmsError(e, 'mac');
    }
  }

  /** VERIFY_HMAC: compared inside the device. A MAC of another length than the key's is not its MAC. */
  async verifyMac(handle: string, spec: SupportedKeySpec, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const key = this.macKey(handle, spec, message);
    if (!(mac instanceof Uint8Array)) throw new TypeError('mac must be a Uint8Array');
    const info = keySpecInfo(spec);
    if (info.kind !== 'hmac' || mac.length !== info.macLength) return false;
    try {
      return await this.#pool.run('mac', (d) => d.client.verifyHmac(key.id, mac, message, this.expectedSerial(d, key)), { objectId: key.id });
    } catch (e) {
      throw this.toKmsError(e, 'mac');
    }
  }

  private macKey(handle: string, spec: SupportedKeySpec, message: Uint8Array): GeneratedObject {
    const key = this.parseHandle(handle);
    if (KEY_SPECS[spec].kind !== 'hmac') throw new KmsError('InvalidKeyUsageException', `${spec} keys make no MACs.`);
    if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
    if (message.length > MAX_HMAC_DATA) {
      throw new KmsError(
        'UnsupportedOperationException',
        `The YubiHSM 2 backend ${this.id} computes MACs over messages of at most ${MAX_HMAC_DATA} bytes (one device command).`,
      );
    }
    return key;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  /** Session pool and connector counters summed over the devices, and the pool's failovers. */
  stats(): YubiHsmBackendStats {
    const sum = {} as ClientStats;
    for (const d of this.#pool.devices) {
      for (const [k, v] of Object.entries(d.client.stats()) as [keyof ClientStats, number][]) sum[k] = (sum[k] ?? 0) + v;
    }
    return { ...sum, ...this.#pool.stats() };
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, kind: this.kind, name: this.name, simulated: this.simulated, client: this.client.toJSON() };
  }

  [inspect.custom](): string {
    return `YubiHsmBackend ${inspect(this.toJSON())}`;
  }

  /**
   * exportable-under-wrap when the session's authentication key may delegate it (the keyadmin of
   * `kmsgate hsm setup` may): such a key can be backed up under the backup wrap key by a session
   * that holds export-wrapped, which the runtime key never does. Otherwise the key can never leave
   * the device.
   */
  private exportability(): Promise<bigint> {
    this.#exportability ??= this.client.getObjectInfo(this.client.authKeyId, ObjectType.AUTHENTICATION_KEY).then(
      (own) => own.delegatedCapabilities & Capability.EXPORTABLE_UNDER_WRAP,
      (e: unknown) => {
        this.#exportability = undefined;
        throw e;
      },
    );
    return this.#exportability;
  }

  private algorithmFor(spec: SupportedKeySpec): number {
    if (!Object.prototype.hasOwnProperty.call(KEY_SPEC_ALGORITHM, spec)) {
      throw new KmsError('UnsupportedOperationException', `The YubiHSM 2 backend ${this.id} does not support key spec ${String(spec)}.`);
    }
    return KEY_SPEC_ALGORITHM[spec];
  }

  /** Handles are `<serial>:<object ID>`, both decimal, as generateKey returned them. */
  private parseHandle(handle: string): GeneratedObject {
    const parsed = parseKeyHandle(handle);
    if (!parsed) throw new KmsError('KMSInternalException', `The key handle is not a YubiHSM 2 key handle of backend ${this.id}.`);
    return parsed;
  }

  /**
   * A key made on one device of a pool would exist only there: the runtime key can neither export
   * nor import, so it could never reach the others and the pool would silently lose its failover.
   */
  private refuseInPool(what: string): void {
    const n = this.#pool.devices.length;
    if (n > 1) {
      throw new KmsError(
        'UnsupportedOperationException',
        `The YubiHSM 2 backend ${this.id} is a pool of ${n} devices, which must all hold the same keys; ${what} on one device and restore them to the others (docs/configuration.md, "Device pools").`,
      );
    }
  }

  /**
   * The serial a command for `key` must reach on device `d`: in a listed pool the device's own
   * (the session pool refuses any other at open); otherwise the handle's, so a key is only ever
   * used on the device that generated it.
   */
  private expectedSerial(d: PoolDevice, key: GeneratedObject): number {
    return this.listed ? d.serial! : key.deviceSerial;
  }

  /**
   * Before a pool device other than the key's own first acts on a key, it must show the key's
   * recorded public key under the key's object ID: a device restored from another backup, or one
   * that reused the ID for another key, never signs for this key. Checked once per device and key.
   */
  private async checkCopy(d: PoolDevice, key: GeneratedObject, spec: SupportedKeySpec, publicKey: Uint8Array): Promise<void> {
    // A wrap or HMAC key has no public part to compare. A wrap key's copies prove themselves by
    // unwrapping (other material fails the CCM tag: InvalidCiphertextException, nothing opened);
    // an HMAC key's do not (docs/cryptography.md, "Device pools").
    if (!this.listed || d.serial === key.deviceSerial || secretOnly(spec)) return;
    const seen = d.verified.get(key.id);
    if (seen && sameBytes(seen, publicKey)) return;
    const { algorithm, publicKey: raw } = await d.client.getPublicKey(key.id, d.serial);
    let spki: Uint8Array | undefined;
    try {
      spki = algorithm === KEY_SPEC_ALGORITHM[spec] ? spkiFromRawPublicKey(spec, raw) : undefined;
    } catch {
      spki = undefined;
    }
    if (!spki || !sameBytes(spki, publicKey)) throw new KeyMismatchError(d.serial, key.id);
    d.verified.set(key.id, publicKey.slice());
  }

  private toKmsError(e: unknown, operation: Operation): Error {
    if (e instanceof KmsError || e instanceof TypeError || e instanceof RangeError) return e;
    const cause = { cause: e };
    if (e instanceof ConnectorError) {
      if (e.kind === 'timeout')
        return new KmsError('DependencyTimeoutException', `The YubiHSM 2 backend ${this.id} did not answer in time; retry later.`, cause);
      return new KmsError('KeyUnavailableException', `The YubiHSM 2 backend ${this.id} cannot be reached; retry later.`, cause);
    }
    if (e instanceof KeyMismatchError) {
      return new KmsError('KeyUnavailableException', `The key material on YubiHSM 2 serial ${e.serial} of backend ${this.id} is not this key's.`, cause);
    }
    if (e instanceof WrongDeviceError) {
      // Sessions to a device other than the configured one never get this far, so a mismatch with
      // the configured serial is the open-time refusal and any other is a key from another device.
      const configured = this.listed ? this.#pool.devices.some((d) => d.serial === e.expectedSerial) : e.expectedSerial === this.serial;
      const message = configured
        ? `The YubiHSM 2 backend ${this.id} is configured for serial ${e.expectedSerial}, but is connected to serial ${e.actualSerial}.`
        : `The key material for this key was generated on YubiHSM 2 serial ${e.expectedSerial}, but backend ${this.id} is connected to serial ${e.actualSerial}.`;
      return new KmsError('KeyUnavailableException', message, cause);
    }
    if (e instanceof DeviceError) {
      if (e.command === Command.CREATE_SESSION || e.command === Command.AUTHENTICATE_SESSION || e.code === DeviceErrorCode.SESSIONS_FULL) {
        return new KmsError('KeyUnavailableException', `The YubiHSM 2 backend ${this.id} refused a session (${e.codeName}).`, cause);
      }
      if (e.code === DeviceErrorCode.STORAGE_FAILED) {
        return new KmsError('LimitExceededException', `The YubiHSM 2 backend ${this.id} has no room for another key.`, cause);
      }
      if (e.code === DeviceErrorCode.OBJECT_NOT_FOUND && operation !== 'generateKey' && operation !== 'deleteKey' && operation !== 'random') {
        return new KmsError('KeyUnavailableException', `The key material is missing from backend ${this.id}.`, cause);
      }
      return new KmsError('KMSInternalException', `The YubiHSM 2 backend ${this.id} failed (${e.codeName}).`, cause);
    }
    if (e instanceof ProtocolError && e.kind === 'cryptogram') {
      return new KmsError('KeyUnavailableException', `Authentication to the YubiHSM 2 backend ${this.id} failed; check its authentication key.`, cause);
    }
    return new KmsError('KMSInternalException', `The YubiHSM 2 backend ${this.id} failed.`, cause);
  }
}

async function publicKeyOf(client: YubiHsmClient, id: number, serial: number, spec: SupportedKeySpec, backendId: string): Promise<Uint8Array> {
  const { algorithm, publicKey } = await client.getPublicKey(id, serial);
  if (algorithm !== KEY_SPEC_ALGORITHM[spec]) {
    throw new KmsError('KMSInternalException', `Object ${id} on backend ${backendId} is a ${algorithmName(algorithm)} key, not ${spec}.`);
  }
  return spkiFromRawPublicKey(spec, publicKey);
}

type DeviceCheck = Pick<BackendDescription, 'connectionState' | 'failure'> & { detail: Record<string, string | number | boolean> };

/** A live check of one device: connector status, DEVICE_INFO (calling `onSimulated` if yubihsm-sim answers it), then an authenticated ECHO. */
async function describeDevice(client: YubiHsmClient, onSimulated: () => void): Promise<DeviceCheck> {
  const detail: Record<string, string | number | boolean> = {};
  try {
    const status = await client.status();
    if (status.version) detail.connectorVersion = status.version;
    if (!status.healthy) {
      detail.connectorStatus = status.status ?? 'missing';
      return { connectionState: 'FAILED', failure: 'network', detail };
    }
    const info = await client.deviceInfo();
    if (isSimulatedDevice(info)) onSimulated();
    detail.serial = info.serial;
    detail.firmware = `${info.major}.${info.minor}.${info.build}`;
    // An authenticated round trip: a reachable device with the wrong password is still unusable.
    await client.echo(Uint8Array.of(0));
    detail.authenticated = true;
    return { connectionState: 'CONNECTED', detail };
  } catch (e) {
    detail.error = describeFailure(e);
    if (detail.serial !== undefined) detail.authenticated = false;
    // Another device than configured is not a password problem.
    const failure = e instanceof ConnectorError ? 'network' : detail.authenticated === false && !(e instanceof WrongDeviceError) ? 'credentials' : 'internal';
    return { connectionState: 'FAILED', failure, detail };
  }
}
