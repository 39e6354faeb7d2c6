/**
 * KeyBackend over a YubiHSM 2 reached through yubihsm-connector. Keys are generated on the
 * device and never leave it; the handle is `<device serial>:<object ID>`, and every command on a
 * key goes only to the device with that serial. Every failure leaves here as a core KmsError whose
 * message names the backend but never a password or key.
 */
import { inspect } from 'node:util';
import {
  type BackendDescription,
  type GeneratedKey,
  type HashName,
  KEY_SPECS,
  type KeyKind,
  type KeyBackend,
  KmsError,
  SIGNING_ALGORITHMS,
  type SupportedKeySpec,
  type SupportedSigningAlgorithm,
  keySpecInfo,
  spkiFromRawPublicKey,
} from '@kmsgate/core';
import { assertInt, assertString } from './check';
import { Algorithm, Capability, Command, ObjectType, algorithmName } from './codes';
import { MAX_EDDSA_MESSAGE, type ClientStats, type GeneratedObject, YubiHsmClient } from './client';
import { ConnectorError, DeviceError, DeviceErrorCode, ProtocolError, WrongDeviceError } from './errors';
import type { AuthKey } from './scp03/kdf';
import { MAX_SERIAL } from './session';
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
} as const satisfies Record<SupportedKeySpec, number>;

/**
 * What a generated key may do, by kind (plus exportable-under-wrap where allowed: exportability()).
 * An RSA key gets both sign-pkcs and sign-pss, since one AWS RSA key may use all six RSASSA algorithms.
 */
const SIGN_CAPABILITIES = {
  ec: Capability.SIGN_ECDSA,
  ed25519: Capability.SIGN_EDDSA,
  rsa: Capability.SIGN_PKCS | Capability.SIGN_PSS,
} as const satisfies Record<KeyKind, bigint>;

/** SIGN_PSS's MGF1 algorithm for AWS's RSASSA_PSS_*: MGF1 over the signing hash. */
const MGF1_ALGORITHM = {
  sha256: Algorithm.RSA_MGF1_SHA256,
  sha384: Algorithm.RSA_MGF1_SHA384,
  sha512: Algorithm.RSA_MGF1_SHA512,
} as const satisfies Record<HashName, number>;

const KEY_SPECS_SUPPORTED = Object.keys(KEY_SPEC_ALGORITHM) as SupportedKeySpec[];
/** Ed25519ph is absent: SIGN_EDDSA signs the message itself, the device has no prehash variant. */
const SIGNING_ALGORITHMS_SUPPORTED: readonly SupportedSigningAlgorithm[] = [
  'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'ED25519_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
];

export interface YubiHsmBackendOptions {
  id: string;
  name?: string;
  connectorUrl: string;
  /** Default 1, the factory authentication key. */
  authKeyId?: number;
  /** Exactly one of `password` or `authKey`. */
  password?: string;
  authKey?: AuthKey;
  /** 16-bit domain mask for generated keys; default 0x0001 (domain 1). */
  domains?: number;
  maxSessions?: number;
  requestTimeoutMs?: number;
  /** Replace sessions idle this long (default 28 s; the device drops them at 30 s). */
  idleTimeoutMs?: number;
  /** A simulator rather than hardware; shown in describe() so no one mistakes it for an HSM. */
  simulated?: boolean;
  /** Use only the device with this serial; any other is refused before a command reaches it. */
  serial?: number;
}

type Operation = 'generateKey' | 'getPublicKey' | 'sign' | 'deleteKey' | 'random';

export class YubiHsmBackend implements KeyBackend {
  readonly id: string;
  readonly kind = 'yubihsm' as const;
  readonly name: string;
  readonly keySpecs: readonly SupportedKeySpec[] = KEY_SPECS_SUPPORTED;
  readonly signingAlgorithms: readonly SupportedSigningAlgorithm[] = SIGNING_ALGORITHMS_SUPPORTED;
  readonly simulated: boolean;
  readonly domains: number;
  readonly serial: number | undefined;
  readonly client: YubiHsmClient;
  #closed = false;
  #exportability: Promise<bigint> | undefined;

  constructor(options: YubiHsmBackendOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    assertString('id', options.id);
    if (options.id.length === 0) throw new RangeError('id must not be empty');
    const domains = options.domains ?? 0x0001;
    assertInt('domains', domains, 1, 0xffff);
    this.id = options.id;
    // Not the connector URL: the name is shown on the unauthenticated /health.
    this.name = options.name ?? `YubiHSM 2 (${options.id})`;
    this.simulated = options.simulated ?? false;
    this.domains = domains;
    this.serial = options.serial;
    this.client = new YubiHsmClient({
      connectorUrl: options.connectorUrl,
      authKeyId: options.authKeyId,
      password: options.password,
      authKey: options.authKey,
      maxSessions: options.maxSessions,
      requestTimeoutMs: options.requestTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      serial: options.serial,
    });
  }

  async describe(): Promise<BackendDescription> {
    const base = {
      id: this.id,
      kind: this.kind,
      name: this.name,
      keySpecs: this.keySpecs,
      signingAlgorithms: this.signingAlgorithms,
      simulated: this.simulated,
    };
    const detail: Record<string, string | number | boolean> = {};
    if (this.#closed) return { ...base, connectionState: 'DISCONNECTED', detail };
    try {
      const status = await this.client.status();
      if (status.version) detail.connectorVersion = status.version;
      if (!status.healthy) {
        detail.connectorStatus = status.status ?? 'missing';
        return { ...base, connectionState: 'FAILED', failure: 'network', detail };
      }
      const info = await this.client.deviceInfo();
      detail.serial = info.serial;
      detail.firmware = `${info.major}.${info.minor}.${info.build}`;
      // An authenticated round trip: a reachable device with the wrong password is still unusable.
      await this.client.echo(Uint8Array.of(0));
      detail.authenticated = true;
      return { ...base, connectionState: 'CONNECTED', detail };
    } catch (e) {
      detail.error = e instanceof ConnectorError ? `connector ${e.kind}`
        : e instanceof DeviceError ? e.codeName
        : e instanceof ProtocolError ? `protocol ${e.kind}`
        : e instanceof WrongDeviceError ? 'wrong device serial'
        : 'error';
      if (detail.serial !== undefined) detail.authenticated = false;
      const failure = e instanceof ConnectorError ? 'network' : detail.authenticated === false ? 'credentials' : 'internal';
      return { ...base, connectionState: 'FAILED', failure, detail };
    }
  }

  async generateKey(spec: SupportedKeySpec, label: string): Promise<GeneratedKey> {
    const algorithm = this.algorithmFor(spec);
    assertString('label', label);
    const labelLength = new TextEncoder().encode(label).length;
    if (labelLength > LABEL_LENGTH) throw new RangeError(`label must be at most ${LABEL_LENGTH} bytes of UTF-8, got ${labelLength}`);
    let key: GeneratedObject;
    try {
      const capabilities = SIGN_CAPABILITIES[KEY_SPECS[spec].kind] | await this.exportability();
      key = await this.client.generateAsymmetricKey({ id: 0, label, domains: this.domains, capabilities, algorithm });
    } catch (e) {
      throw this.toKmsError(e, 'generateKey');
    }
    try {
      return { handle: `${key.deviceSerial}:${key.id}`, publicKey: await this.publicKeyOf(key, spec) };
    } catch (e) {
      // Do not leave a key on the device that no KMS record will ever point to.
      await this.client.deleteObject(key.id, ObjectType.ASYMMETRIC_KEY, key.deviceSerial).catch(() => undefined);
      throw this.toKmsError(e, 'generateKey');
    }
  }

  async getPublicKey(handle: string, spec: SupportedKeySpec): Promise<Uint8Array> {
    const key = this.parseHandle(handle);
    this.algorithmFor(spec);
    try {
      return await this.publicKeyOf(key, spec);
    } catch (e) {
      throw this.toKmsError(e, 'getPublicKey');
    }
  }

  async sign(handle: string, spec: SupportedKeySpec, algorithm: SupportedSigningAlgorithm, input: Uint8Array): Promise<Uint8Array> {
    const { id, deviceSerial } = this.parseHandle(handle);
    this.algorithmFor(spec);
    const allowed = (KEY_SPECS[spec].signingAlgorithms as readonly string[]).includes(algorithm);
    if (!allowed) throw new KmsError('InvalidKeyUsageException', `${algorithm} is not a signing algorithm of ${spec} keys.`);
    if (!this.signingAlgorithms.includes(algorithm)) {
      throw new KmsError('UnsupportedOperationException', `The YubiHSM 2 backend ${this.id} does not support ${algorithm}.`);
    }
    if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
    const family = SIGNING_ALGORITHMS[algorithm].family;
    try {
      if (family === 'ecdsa') {
        const digestLength = SIGNING_ALGORITHMS[algorithm].digestLength;
        if (input.length !== digestLength) throw new RangeError(`input must be the ${digestLength}-byte digest for ${algorithm}, got ${input.length}`);
        return await this.client.signEcdsa(id, input, deviceSerial);
      }
      if (family === 'rsa-pkcs1' || family === 'rsa-pss') {
        const { hash, digestLength } = SIGNING_ALGORITHMS[algorithm];
        if (input.length !== digestLength) throw new RangeError(`input must be the ${digestLength}-byte digest for ${algorithm}, got ${input.length}`);
        // The device adds the DigestInfo to the bare hash (PKCS#1 v1.5). AWS's PSS: MGF1 over
        // the signing hash, salt as long as the digest.
        const signature = family === 'rsa-pkcs1'
          ? await this.client.signPkcs1(id, input, deviceSerial)
          : await this.client.signPss(id, MGF1_ALGORITHM[hash], digestLength, input, deviceSerial);
        const info = keySpecInfo(spec);
        if (info.kind !== 'rsa' || signature.length !== info.modulusBits / 8) {
          throw new KmsError('KMSInternalException', `The YubiHSM 2 backend ${this.id} returned a ${signature.length}-byte ${algorithm} signature for a ${spec} key.`);
        }
        return signature;
      }
      if (input.length > MAX_EDDSA_MESSAGE) {
        throw new KmsError('UnsupportedOperationException', `The YubiHSM 2 backend ${this.id} signs Ed25519 messages of at most ${MAX_EDDSA_MESSAGE} bytes.`);
      }
      return await this.client.signEddsa(id, input, deviceSerial);
    } catch (e) {
      throw this.toKmsError(e, 'sign');
    }
  }

  /** Deleting a key that is already gone succeeds: the wanted end state holds. */
  async deleteKey(handle: string, spec: SupportedKeySpec): Promise<void> {
    const { id, deviceSerial } = this.parseHandle(handle);
    this.algorithmFor(spec);
    try {
      await this.client.deleteObject(id, ObjectType.ASYMMETRIC_KEY, deviceSerial);
    } catch (e) {
      if (e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND && e.command !== Command.CREATE_SESSION) return;
      throw this.toKmsError(e, 'deleteKey');
    }
  }

  async random(length: number): Promise<Uint8Array> {
    assertInt('length', length, 0, 1 << 20);
    try {
      return await this.client.getPseudoRandom(length);
    } catch (e) {
      throw this.toKmsError(e, 'random');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.client.close();
  }

  /** Pool and connector counters, for the benchmark and metrics. */
  stats(): ClientStats {
    return this.client.stats();
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
    const m = typeof handle === 'string' ? /^(0|[1-9][0-9]{0,9}):([1-9][0-9]{0,4})$/.exec(handle) : null;
    const deviceSerial = Number(m?.[1]);
    const id = Number(m?.[2]);
    if (!m || deviceSerial > MAX_SERIAL || id > 0xfffe) {
      throw new KmsError('KMSInternalException', `The key handle is not a YubiHSM 2 key handle of backend ${this.id}.`);
    }
    return { id, deviceSerial };
  }

  private async publicKeyOf({ id, deviceSerial }: GeneratedObject, spec: SupportedKeySpec): Promise<Uint8Array> {
    const { algorithm, publicKey } = await this.client.getPublicKey(id, deviceSerial);
    if (algorithm !== KEY_SPEC_ALGORITHM[spec]) {
      throw new KmsError('KMSInternalException', `Object ${id} on backend ${this.id} is a ${algorithmName(algorithm)} key, not ${spec}.`);
    }
    return spkiFromRawPublicKey(spec, publicKey);
  }

  private toKmsError(e: unknown, operation: Operation): Error {
    if (e instanceof KmsError || e instanceof TypeError || e instanceof RangeError) return e;
    const cause = { cause: e };
    if (e instanceof ConnectorError) {
      if (e.kind === 'timeout') return new KmsError('DependencyTimeoutException', `The YubiHSM 2 backend ${this.id} did not answer in time; retry later.`, cause);
      return new KmsError('KeyUnavailableException', `The YubiHSM 2 backend ${this.id} cannot be reached; retry later.`, cause);
    }
    if (e instanceof WrongDeviceError) {
      // Sessions to a device other than the configured one never get this far, so a mismatch with
      // the configured serial is the open-time refusal and any other is a key from another device.
      const message = e.expectedSerial === this.serial
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
      if (e.code === DeviceErrorCode.OBJECT_NOT_FOUND && (operation === 'sign' || operation === 'getPublicKey')) {
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
