/**
 * Typed YubiHSM 2 client over yubihsm-connector: one method per device command, argument checks
 * at the boundary, sessions pooled underneath.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { assertBytes, assertInt, assertString, assertU64 } from './check';
import { verifyLogChain } from './audit-chain';
import { Algorithm, AuditMode, Command, OptionTag } from './codes';
import * as DecryptCbc from './commands/decrypt-cbc';
import * as DecryptEcb from './commands/decrypt-ecb';
import * as DecryptOaep from './commands/decrypt-oaep';
import * as DecryptPkcs1 from './commands/decrypt-pkcs1';
import * as ChangeAuthenticationKey from './commands/change-authentication-key';
import { CCM_NONCE_LENGTH, CCM_TAG_LENGTH, joinCcmWrapped, splitCcmWrapped } from './commands/ccm-wrapped';
import * as DeleteObject from './commands/delete-object';
import * as DeriveEcdh from './commands/derive-ecdh';
import * as DeviceInfo from './commands/device-info';
import * as Echo from './commands/echo';
import * as EncryptCbc from './commands/encrypt-cbc';
import * as EncryptEcb from './commands/encrypt-ecb';
import * as ExportWrapped from './commands/export-wrapped';
import * as GenerateAsymmetricKey from './commands/generate-asymmetric-key';
import * as GetDevicePublicKey from './commands/get-device-public-key';
import * as GetLogEntries from './commands/get-log-entries';
import * as GenerateHmacKey from './commands/generate-hmac-key';
import * as GenerateSymmetricKey from './commands/generate-symmetric-key';
import * as GenerateWrapKey from './commands/generate-wrap-key';
import * as GetObjectInfo from './commands/get-object-info';
import * as GetOpaque from './commands/get-opaque';
import * as GetOption from './commands/get-option';
import * as GetPseudoRandom from './commands/get-pseudo-random';
import * as GetPublicKey from './commands/get-public-key';
import * as GetStorageInfo from './commands/get-storage-info';
import * as ImportWrapped from './commands/import-wrapped';
import * as ListObjects from './commands/list-objects';
import * as PutAsymmetricKey from './commands/put-asymmetric-key';
import * as PutAuthenticationKey from './commands/put-authentication-key';
import * as PutHmacKey from './commands/put-hmac-key';
import * as PutOpaque from './commands/put-opaque';
import * as PutSymmetricKey from './commands/put-symmetric-key';
import * as PutWrapKey from './commands/put-wrap-key';
import * as ResetDevice from './commands/reset-device';
import * as SignAttestationCertificate from './commands/sign-attestation-certificate';
import * as SetLogIndex from './commands/set-log-index';
import * as SetOption from './commands/set-option';
import * as SignEcdsa from './commands/sign-ecdsa';
import * as SignEddsa from './commands/sign-eddsa';
import * as SignHmac from './commands/sign-hmac';
import * as SignPkcs1 from './commands/sign-pkcs1';
import * as SignPss from './commands/sign-pss';
import * as UnwrapData from './commands/unwrap-data';
import * as VerifyHmac from './commands/verify-hmac';
import * as WrapData from './commands/wrap-data';
import { type ConnectorStatus, HttpConnector } from './connector';
import { ConnectorError, ProtocolError } from './errors';
import { responsePayload } from './response';
import { EC_P256_PUBLIC_KEY_LENGTH } from './scp03/asymmetric';
import { type AuthKey, DEFAULT_AUTH_KEY_ID, KEY_LENGTH, authKeyFromPassword } from './scp03/kdf';
import { MAX_SERIAL, maxSessionPayload } from './session';
import { type PoolStats, type SendOptions, SessionPool } from './session-pool';
import { LABEL_LENGTH, LEGACY_MAX_MSG_SIZE, frame } from './wire';

/**
 * Largest GET_PSEUDO_RANDOM answer requested at once: what fits a 2048-byte message, so that
 * firmware before 2.4 (smaller buffer) is served too.
 */
export const PSEUDO_RANDOM_CHUNK = maxSessionPayload(LEGACY_MAX_MSG_SIZE);
/** SIGN_EDDSA carries `KeyID(2) || message` in one message (firmware ≥ 2.4 buffer). */
export const MAX_EDDSA_MESSAGE = maxSessionPayload() - 2;
/** Hash lengths SIGN_ECDSA accepts (libyubihsm `yh_util_sign_ecdsa`): SHA-1, SHA-224/256/384/512, P-521. */
export const ECDSA_DIGEST_LENGTHS: readonly number[] = [20, 28, 32, 48, 64, 66];
/** Bare hash lengths SIGN_PKCS1 and SIGN_PSS take (libyubihsm `yh_util_sign_pkcs1v1_5`/`_pss`): SHA-1, SHA-256/384/512. */
export const RSA_DIGEST_LENGTHS: readonly number[] = [20, 32, 48, 64];
/**
 * Longest WRAP_DATA input whose blob, 30 bytes longer, still fits an UNWRAP_DATA request behind
 * the key ID (firmware ≥ 2.4 buffer): 3082 bytes. The device itself wraps up to 3086.
 */
export const MAX_WRAP_DATA = maxSessionPayload() - 2 - WrapData.WRAP_DATA_OVERHEAD;
/** SIGN_HMAC / VERIFY_HMAC carry the data in one message; the device has no streaming HMAC. */
export const MAX_HMAC_DATA = maxSessionPayload() - 2 - 64;
/**
 * AES data per ENCRYPT/DECRYPT command: whole blocks that fit a 2048-byte message with the key ID
 * (and the IV for CBC), so firmware 2.3 is served too; python-yubihsm's `MAX_AES_PAYLOAD_SIZE` is 2026.
 */
const AES_CHUNK = Math.floor((maxSessionPayload(LEGACY_MAX_MSG_SIZE) - 2 - 16) / 16) * 16;
/** Key generation deadline: Oxide's offline-keystore (issue #85) measured RSA-4096 at up to ~4 minutes. */
export const GENERATE_TIMEOUT_MS = 300_000;

export interface YubiHsmClientOptions {
  /** Base URL of yubihsm-connector (or yubihsm-sim), e.g. `http://127.0.0.1:12345`. */
  connectorUrl: string;
  /** Authentication key object ID; default 1 (the factory key). */
  authKeyId?: number;
  /** Exactly one of `password` (derived with PBKDF2 as Yubico does) or the raw `authKey`. */
  password?: string;
  authKey?: AuthKey;
  maxSessions?: number;
  requestTimeoutMs?: number;
  /** Sessions idle this long are replaced before use (default 28 s; the device drops them at 30 s). */
  idleTimeoutMs?: number;
  /** Lower per-session message cap (tests). */
  messageLimit?: number;
  /** Serial of the one device to use; sessions to any other are refused with WrongDeviceError. */
  serial?: number;
  /** Milliseconds clock for session idle ages; Date.now by default (tests pass a manual clock). */
  now?: () => number;
}

export interface GenerateAsymmetricKeyParams {
  /** 0 (default) lets the device choose. */
  id?: number;
  label: string | Uint8Array;
  /** 16-bit domain mask (domain n = bit n−1). */
  domains: number;
  capabilities: bigint;
  algorithm: number;
}

/** PUT_ASYMMETRIC_KEY: `key` in the device's layout (RSA `p || q`, EC d, Ed25519 seed). */
export interface PutAsymmetricKeyParams extends GenerateAsymmetricKeyParams {
  key: Uint8Array;
}

/** PUT_OPAQUE: `algorithm` is Algorithm.OPAQUE_DATA or OPAQUE_X509_CERTIFICATE. */
export interface PutOpaqueParams extends GenerateAsymmetricKeyParams {
  data: Uint8Array;
}

export interface PutAuthenticationKeyParams {
  id: number;
  label: string | Uint8Array;
  domains: number;
  capabilities: bigint;
  delegatedCapabilities: bigint;
  /**
   * Exactly one of: a password or both raw keys (a symmetric key), or the host's P-256 public key
   * as `X || Y` or `04 || X || Y` (an asymmetric key, firmware 2.3+).
   */
  password?: string;
  authKey?: AuthKey;
  publicKey?: Uint8Array;
}

export interface GenerateWrapKeyParams {
  /** 0 (default) lets the device choose. */
  id?: number;
  label: string | Uint8Array;
  domains: number;
  capabilities: bigint;
  /** AES128/192/256_CCM_WRAP, or RSA_2048/3072/4096 for a key that imports under RSA wrap (firmware ≥ 2.4). */
  algorithm: number;
  /** The most that objects exported or imported under this key may carry. */
  delegatedCapabilities: bigint;
}

export interface PutWrapKeyParams extends GenerateWrapKeyParams {
  /** AES: the 16/24/32-byte key. RSA: `p || q`, each half the modulus. */
  key: Uint8Array;
}

export interface PutKeyParams extends GenerateAsymmetricKeyParams {
  key: Uint8Array;
}

export interface GeneratedObject {
  id: number;
  /** Serial of the device that generated it, as reported inside the session. */
  deviceSerial: number;
}

/** DEVICE_INFO page 0, plus the part number of page 1 when the firmware has it (≥ 2.4.0). */
export type DeviceInfoResult = DeviceInfo.Response & { partNumber?: string };

export type AuditSetting = (typeof AuditMode)[keyof typeof AuditMode];

/** Command codes that can be audited: every command the protocol defines. */
const AUDITABLE_COMMANDS: ReadonlySet<number> = new Set(Object.values(Command));

function assertAuditSetting(field: string, value: unknown): asserts value is AuditSetting {
  assertInt(field, value, AuditMode.OFF, AuditMode.FIXED);
}

export type ClientStats = PoolStats & {
  /** Every HTTP request to the connector, including status checks and session-less commands. */
  connectorRequests: number;
};

const ID_RANGE = [1, 0xfffe] as const;
/** `ID(2) || Label(40) || Domains(2) || Capabilities(8) || Algorithm(1)`. */
const OBJECT_HEADER_LENGTH = 53;

function labelBytes(field: string, label: unknown): Uint8Array {
  const raw = typeof label === 'string' ? new TextEncoder().encode(label) : label;
  if (!(raw instanceof Uint8Array)) throw new TypeError(`${field} must be a string or a Uint8Array`);
  assertBytes(field, raw, { max: LABEL_LENGTH });
  return raw;
}

/** Pool options that pin a command to the device with `expectSerial`, when given. */
function onDevice(expectSerial: unknown): SendOptions {
  if (expectSerial === undefined) return {};
  assertInt('expectSerial', expectSerial, 0, MAX_SERIAL);
  return { expectSerial };
}

function assertAesBlocks(data: unknown): asserts data is Uint8Array {
  assertBytes('data', data, { min: 16 });
  if (data.length % 16 !== 0) throw new RangeError(`data must be whole 16-byte AES blocks, got ${data.length} bytes`);
}

function assertRsaDigest(digest: unknown): asserts digest is Uint8Array {
  assertBytes('digest', digest);
  if (!RSA_DIGEST_LENGTHS.includes(digest.length)) {
    throw new RangeError(`digest must be ${RSA_DIGEST_LENGTHS.join(', ')} bytes long, got ${digest.length}`);
  }
}

function objectHeader(params: GenerateAsymmetricKeyParams) {
  if (typeof params !== 'object' || params === null) throw new TypeError('params must be an object');
  const id = params.id ?? 0;
  assertInt('id', id, 0, ID_RANGE[1]);
  assertInt('domains', params.domains, 1, 0xffff);
  assertU64('capabilities', params.capabilities);
  assertInt('algorithm', params.algorithm, 1, 0xff);
  return { id, label: labelBytes('label', params.label), domains: params.domains, capabilities: params.capabilities, algorithm: params.algorithm };
}

function assertRsaCiphertext(ciphertext: unknown): asserts ciphertext is Uint8Array {
  assertBytes('ciphertext', ciphertext);
  if (!DecryptOaep.CIPHERTEXT_LENGTHS.includes(ciphertext.length)) {
    throw new RangeError(`ciphertext must be ${DecryptOaep.CIPHERTEXT_LENGTHS.join(', ')} bytes long (the modulus), got ${ciphertext.length}`);
  }
}

/** `X || Y`, or `04 || X || Y` with its prefix dropped. */
function publicKeyXY(publicKey: unknown): Uint8Array {
  assertBytes('publicKey', publicKey);
  if (publicKey.length === EC_P256_PUBLIC_KEY_LENGTH) return publicKey;
  if (publicKey.length === EC_P256_PUBLIC_KEY_LENGTH + 1 && publicKey[0] === 0x04) return publicKey.subarray(1);
  throw new RangeError(`publicKey must be a P-256 point, X || Y (64 bytes) or 04 || X || Y (65), got ${publicKey.length} bytes`);
}

function resolveAuthKey(password: unknown, authKey: unknown): AuthKey {
  if ((password === undefined) === (authKey === undefined)) throw new TypeError('give exactly one of password or authKey');
  if (password !== undefined) {
    assertString('password', password);
    return authKeyFromPassword(password);
  }
  if (typeof authKey !== 'object' || authKey === null) throw new TypeError('authKey must be { encKey, macKey }');
  const { encKey, macKey } = authKey as AuthKey;
  assertBytes('authKey.encKey', encKey, KEY_LENGTH);
  assertBytes('authKey.macKey', macKey, KEY_LENGTH);
  return { encKey: encKey.slice(), macKey: macKey.slice() };
}

export class YubiHsmClient {
  readonly connector: HttpConnector;
  readonly authKeyId: number;
  readonly #pool: SessionPool;
  readonly #authKey: AuthKey;

  constructor(options: YubiHsmClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const authKeyId = options.authKeyId ?? DEFAULT_AUTH_KEY_ID;
    assertInt('authKeyId', authKeyId, ...ID_RANGE);
    this.authKeyId = authKeyId;
    if (options.serial !== undefined) assertInt('serial', options.serial, 0, MAX_SERIAL);
    this.#authKey = resolveAuthKey(options.password, options.authKey);
    this.connector = new HttpConnector({ url: options.connectorUrl, requestTimeoutMs: options.requestTimeoutMs, maxSockets: options.maxSessions });
    this.#pool = new SessionPool({
      transport: this.connector,
      authKeyId,
      authKey: this.#authKey,
      maxSessions: options.maxSessions,
      idleTimeoutMs: options.idleTimeoutMs,
      messageLimit: options.messageLimit,
      deviceSerial: options.serial,
      now: options.now,
    });
  }

  /** Connector health from `GET /connector/status`. */
  status(): Promise<ConnectorStatus> {
    return this.connector.status();
  }

  /**
   * DEVICE_INFO in the clear: needs no session, so it works even with a wrong password. From
   * firmware 2.4.0 on, page 1 adds the part number (which also tells yubihsm-sim apart:
   * `isSimulatedDevice`).
   */
  async deviceInfo(): Promise<DeviceInfoResult> {
    const res = await this.connector.send(frame(DeviceInfo.CODE, DeviceInfo.encodeRequest({})));
    const info: DeviceInfoResult = DeviceInfo.decodeResponse(responsePayload(res, DeviceInfo.CODE));
    if (info.major > 2 || (info.major === 2 && info.minor >= 4)) {
      const page = await this.connector.send(frame(DeviceInfo.CODE, DeviceInfo.encodePageRequest(DeviceInfo.PART_NUMBER_PAGE)));
      info.partNumber = DeviceInfo.decodePartNumberResponse(responsePayload(page, DeviceInfo.CODE));
    }
    return info;
  }

  /** ECHO inside a session: a cheap authenticated round trip. */
  async echo(data: Uint8Array): Promise<Uint8Array> {
    assertBytes('data', data, { min: 1, max: maxSessionPayload() });
    return Echo.decodeResponse(await this.#pool.send(Echo.CODE, Echo.encodeRequest({ data }))).data;
  }

  /** The new object's ID, and the serial of the device that holds it. */
  async generateAsymmetricKey(params: GenerateAsymmetricKeyParams): Promise<GeneratedObject> {
    const req = objectHeader(params);
    const { payload, deviceSerial } = await this.#pool.exchange(GenerateAsymmetricKey.CODE, GenerateAsymmetricKey.encodeRequest(req), {
      idempotent: false,
      // The device blocks while it generates: RSA-4096 takes from under a minute to ~4 minutes.
      timeoutMs: GENERATE_TIMEOUT_MS,
    });
    return { id: GenerateAsymmetricKey.decodeResponse(payload).id, deviceSerial };
  }

  /**
   * Imports a private key (key import, restoring a backup). The key bytes in the request are
   * zeroed once sent. Returns the new object's ID and the serial of the device that holds it.
   */
  async putAsymmetricKey(params: PutAsymmetricKeyParams): Promise<GeneratedObject> {
    const header = objectHeader(params);
    assertBytes('key', params.key, { min: 1 });
    const payload = PutAsymmetricKey.encodeRequest({ ...header, key: params.key });
    try {
      const { payload: res, deviceSerial } = await this.#pool.exchange(PutAsymmetricKey.CODE, payload, { idempotent: false });
      return { id: PutAsymmetricKey.decodeResponse(res).id, deviceSerial };
    } finally {
      payload.fill(0);
    }
  }

  /** ECDH with the peer's uncompressed point `04 || X || Y`; returns the shared X coordinate. */
  async deriveEcdh(keyId: number, publicKey: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('publicKey', publicKey, { min: 1 });
    const options = onDevice(expectSerial);
    return DeriveEcdh.decodeResponse(await this.#pool.send(DeriveEcdh.CODE, DeriveEcdh.encodeRequest({ keyId, publicKey }), options)).sharedSecret;
  }

  /** RSAES-PKCS1-v1_5 decryption of a modulus-length ciphertext. */
  async decryptPkcs1(keyId: number, ciphertext: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertRsaCiphertext(ciphertext);
    const options = onDevice(expectSerial);
    return DecryptPkcs1.decodeResponse(await this.#pool.send(DecryptPkcs1.CODE, DecryptPkcs1.encodeRequest({ keyId, ciphertext }), options)).plaintext;
  }

  /**
   * RSAES-OAEP decryption. `labelHash` is the OAEP hash of the label (of the empty string for
   * none) and so also names the OAEP hash; MGF1 uses `mgf1Algorithm`.
   */
  async decryptOaep(keyId: number, mgf1Algorithm: number, ciphertext: Uint8Array, labelHash: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertInt('mgf1Algorithm', mgf1Algorithm, Algorithm.RSA_MGF1_SHA1, Algorithm.RSA_MGF1_SHA512);
    assertRsaCiphertext(ciphertext);
    assertBytes('labelHash', labelHash);
    if (!DecryptOaep.LABEL_HASH_LENGTHS.includes(labelHash.length)) {
      throw new RangeError(`labelHash must be ${DecryptOaep.LABEL_HASH_LENGTHS.join(', ')} bytes long, got ${labelHash.length}`);
    }
    const options = onDevice(expectSerial);
    const req = { keyId, mgf1Algorithm, ciphertext, labelHash };
    return DecryptOaep.decodeResponse(await this.#pool.send(DecryptOaep.CODE, DecryptOaep.encodeRequest(req), options)).plaintext;
  }

  /** Stores data (or an X.509 certificate) as an opaque object; returns its ID. */
  async putOpaque(params: PutOpaqueParams): Promise<number> {
    const header = objectHeader(params);
    assertBytes('data', params.data, { min: 1, max: maxSessionPayload() - OBJECT_HEADER_LENGTH });
    const payload = PutOpaque.encodeRequest({ ...header, data: params.data });
    return PutOpaque.decodeResponse(await this.#pool.send(PutOpaque.CODE, payload, { idempotent: false })).id;
  }

  /** An opaque object's data; id 0 is the device's attestation certificate. */
  async getOpaque(id: number, expectSerial?: number): Promise<Uint8Array> {
    assertInt('id', id, 0, ID_RANGE[1]);
    const options = onDevice(expectSerial);
    return GetOpaque.decodeResponse(await this.#pool.send(GetOpaque.CODE, GetOpaque.encodeRequest({ id }), options)).data;
  }

  /**
   * A DER X.509 certificate for `keyId`'s public key, signed by `attestingKeyId` (whose own
   * certificate must be stored as an opaque object with the same ID), or by the device's
   * attestation key when `attestingKeyId` is 0.
   */
  async signAttestationCertificate(keyId: number, attestingKeyId = 0, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertInt('attestingKeyId', attestingKeyId, 0, ID_RANGE[1]);
    const options = onDevice(expectSerial);
    const req = { keyId, attestingKeyId };
    return SignAttestationCertificate.decodeResponse(
      await this.#pool.send(SignAttestationCertificate.CODE, SignAttestationCertificate.encodeRequest(req), options),
    ).certificate;
  }

  /**
   * `expectSerial`, here and below: act only on the device with that serial, else throw
   * WrongDeviceError without sending (an object ID names an object on one device only).
   */
  async getPublicKey(keyId: number, expectSerial?: number): Promise<GetPublicKey.Response> {
    assertInt('keyId', keyId, ...ID_RANGE);
    const options = onDevice(expectSerial);
    return GetPublicKey.decodeResponse(await this.#pool.send(GetPublicKey.CODE, GetPublicKey.encodeRequest({ keyId }), options));
  }

  /** DER signature exactly as the device produced it. */
  async signEcdsa(keyId: number, digest: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('digest', digest);
    if (!ECDSA_DIGEST_LENGTHS.includes(digest.length)) {
      throw new RangeError(`digest must be ${ECDSA_DIGEST_LENGTHS.join(', ')} bytes long, got ${digest.length}`);
    }
    const options = onDevice(expectSerial);
    return SignEcdsa.decodeResponse(await this.#pool.send(SignEcdsa.CODE, SignEcdsa.encodeRequest({ keyId, digest }), options)).signature;
  }

  /** Pure Ed25519 over the whole message; 64-byte `R || S`. */
  async signEddsa(keyId: number, message: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('message', message, { max: MAX_EDDSA_MESSAGE });
    const options = onDevice(expectSerial);
    return SignEddsa.decodeResponse(await this.#pool.send(SignEddsa.CODE, SignEddsa.encodeRequest({ keyId, message }), options)).signature;
  }

  /**
   * RSASSA-PKCS1-v1_5 over a bare hash. The device picks the hash by its length and prepends
   * its DigestInfo, giving a standard RFC 8017 signature: python-yubihsm's `sign_pkcs1v1_5`
   * sends only the hash and its device tests verify the result with PKCS1v15 + that hash.
   * Returns the signature, as long as the modulus.
   */
  async signPkcs1(keyId: number, digest: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertRsaDigest(digest);
    const options = onDevice(expectSerial);
    return SignPkcs1.decodeResponse(await this.#pool.send(SignPkcs1.CODE, SignPkcs1.encodeRequest({ keyId, digest }), options)).signature;
  }

  /**
   * RSASSA-PSS over a bare hash; the hash in EMSA-PSS is the one the hash length names, MGF1 uses
   * `mgf1Algorithm` (Algorithm.RSA_MGF1_SHA1 … RSA_MGF1_SHA512), and the salt is `saltLength`
   * random bytes. Returns the signature, as long as the modulus.
   */
  async signPss(keyId: number, mgf1Algorithm: number, saltLength: number, digest: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertInt('mgf1Algorithm', mgf1Algorithm, Algorithm.RSA_MGF1_SHA1, Algorithm.RSA_MGF1_SHA512);
    assertInt('saltLength', saltLength, 0, 0xffff);
    assertRsaDigest(digest);
    const options = onDevice(expectSerial);
    const req = { keyId, mgf1Algorithm, saltLength, digest };
    return SignPss.decodeResponse(await this.#pool.send(SignPss.CODE, SignPss.encodeRequest(req), options)).signature;
  }

  async getObjectInfo(id: number, type: number, expectSerial?: number): Promise<GetObjectInfo.Response> {
    assertInt('id', id, ...ID_RANGE);
    assertInt('type', type, 1, 0xff);
    const options = onDevice(expectSerial);
    return GetObjectInfo.decodeResponse(await this.#pool.send(GetObjectInfo.CODE, GetObjectInfo.encodeRequest({ id, type }), options));
  }

  async listObjects(filter: Omit<ListObjects.Request, 'label'> & { label?: string | Uint8Array } = {}): Promise<ListObjects.ListedObject[]> {
    if (typeof filter !== 'object' || filter === null) throw new TypeError('filter must be an object');
    const req: ListObjects.Request = { ...filter, label: filter.label === undefined ? undefined : labelBytes('label', filter.label) };
    if (req.label === undefined) delete req.label;
    return ListObjects.decodeResponse(await this.#pool.send(ListObjects.CODE, ListObjects.encodeRequest(req))).objects;
  }

  async deleteObject(id: number, type: number, expectSerial?: number): Promise<void> {
    assertInt('id', id, ...ID_RANGE);
    assertInt('type', type, 1, 0xff);
    const options = { ...onDevice(expectSerial), idempotent: false };
    DeleteObject.decodeResponse(await this.#pool.send(DeleteObject.CODE, DeleteObject.encodeRequest({ id, type }), options));
  }

  /** Device randomness, fetched in chunks that fit one message each. */
  async getPseudoRandom(length: number): Promise<Uint8Array> {
    assertInt('length', length, 0, 1 << 20);
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += PSEUDO_RANDOM_CHUNK) {
      const want = Math.min(PSEUDO_RANDOM_CHUNK, length - at);
      const { bytes } = GetPseudoRandom.decodeResponse(await this.#pool.send(GetPseudoRandom.CODE, GetPseudoRandom.encodeRequest({ length: want })));
      if (bytes.length !== want) throw new RangeError(`device returned ${bytes.length} random bytes, asked for ${want}`);
      out.set(bytes, at);
    }
    return out;
  }

  /**
   * Factory reset: deletes every object and restores the default auth key. The device reboots, so
   * a dropped connection counts as success (as in python-yubihsm); every session is gone after.
   */
  async resetDevice(): Promise<void> {
    try {
      ResetDevice.decodeResponse(await this.#pool.send(ResetDevice.CODE, ResetDevice.encodeRequest({}), { idempotent: false }));
    } catch (e) {
      if (!(e instanceof ConnectorError && (e.kind === 'reset' || e.kind === 'timeout'))) throw e;
    } finally {
      this.#pool.discardIdle();
    }
  }

  /** Returns the new authentication key's ID. */
  async putAuthenticationKey(params: PutAuthenticationKeyParams): Promise<number> {
    if (typeof params !== 'object' || params === null) throw new TypeError('params must be an object');
    assertInt('id', params.id, 0, ID_RANGE[1]);
    assertInt('domains', params.domains, 1, 0xffff);
    assertU64('capabilities', params.capabilities);
    assertU64('delegatedCapabilities', params.delegatedCapabilities);
    const header = {
      id: params.id,
      label: labelBytes('label', params.label),
      domains: params.domains,
      capabilities: params.capabilities,
      delegatedCapabilities: params.delegatedCapabilities,
    };
    if (params.publicKey !== undefined) {
      if (params.password !== undefined || params.authKey !== undefined) throw new TypeError('give exactly one of password, authKey or publicKey');
      const req = { ...header, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey: publicKeyXY(params.publicKey) };
      return PutAuthenticationKey.decodeResponse(
        await this.#pool.send(PutAuthenticationKey.CODE, PutAuthenticationKey.encodeRequest(req), { idempotent: false }),
      ).id;
    }
    const key = resolveAuthKey(params.password, params.authKey);
    try {
      const payload = PutAuthenticationKey.encodeRequest({ ...header, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, ...key });
      try {
        return PutAuthenticationKey.decodeResponse(await this.#pool.send(PutAuthenticationKey.CODE, payload, { idempotent: false })).id;
      } finally {
        payload.fill(0);
      }
    } finally {
      key.encKey.fill(0);
      key.macKey.fill(0);
    }
  }

  /**
   * CHANGE_AUTHENTICATION_KEY on the key this client authenticates with (the device allows no
   * other), from a password or raw keys; needs its change-authentication-key capability. The client
   * then opens its new sessions with the new key; sessions already open go on.
   */
  async changeAuthenticationKey(next: { password?: string; authKey?: AuthKey }): Promise<void> {
    if (typeof next !== 'object' || next === null) throw new TypeError('next must be { password } or { authKey }');
    const key = resolveAuthKey(next.password, next.authKey);
    try {
      const payload = ChangeAuthenticationKey.encodeRequest({ id: this.authKeyId, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, ...key });
      try {
        const { id } = ChangeAuthenticationKey.decodeResponse(await this.#pool.send(ChangeAuthenticationKey.CODE, payload, { idempotent: false }));
        if (id !== this.authKeyId) throw new ProtocolError('unexpected-response', `device changed key ${id}, not ${this.authKeyId}`);
      } finally {
        payload.fill(0);
      }
      // The pool holds this very object: new sessions use the new key from here on.
      this.#authKey.encKey.set(key.encKey);
      this.#authKey.macKey.set(key.macKey);
    } finally {
      key.encKey.fill(0);
      key.macKey.fill(0);
    }
  }

  /** The device's P-256 key for asymmetric authentication (firmware 2.3+), `X || Y`, in the clear. */
  async getDevicePublicKey(): Promise<Uint8Array> {
    const res = await this.connector.send(frame(GetDevicePublicKey.CODE, GetDevicePublicKey.encodeRequest({})));
    const { algorithm, publicKey } = GetDevicePublicKey.decodeResponse(responsePayload(res, GetDevicePublicKey.CODE));
    if (algorithm !== Algorithm.EC_P256_YUBICO_AUTHENTICATION) throw new ProtocolError('unexpected-response', `device public key has algorithm ${algorithm}`);
    return publicKey;
  }

  /** Object records and storage pages, total and free. */
  async getStorageInfo(): Promise<GetStorageInfo.Response> {
    return GetStorageInfo.decodeResponse(await this.#pool.send(GetStorageInfo.CODE, GetStorageInfo.encodeRequest({})));
  }

  /**
   * The device audit log, its hash chain checked (ProtocolError 'log-chain' if broken). Pass the
   * last entry of the previous read as `previous` to also check that nothing was dropped between
   * the two reads; without it the first entry is taken on trust.
   */
  async getLogEntries(previous?: GetLogEntries.LogEntry): Promise<GetLogEntries.Response> {
    const res = GetLogEntries.decodeResponse(await this.#pool.send(GetLogEntries.CODE, GetLogEntries.encodeRequest({})));
    verifyLogChain(res.entries, previous);
    return res;
  }

  /** Releases the log up to and including entry `index` (what force audit waits for). */
  async setLogIndex(index: number): Promise<void> {
    assertInt('index', index, 0, 0xffff);
    SetLogIndex.decodeResponse(await this.#pool.send(SetLogIndex.CODE, SetLogIndex.encodeRequest({ index }), { idempotent: false }));
  }

  /** Raw SET_OPTION; prefer the typed setters below. */
  async setOption(tag: number, value: Uint8Array): Promise<void> {
    assertInt('tag', tag, 0, 0xff);
    assertBytes('value', value, { max: maxSessionPayload() - 3 });
    SetOption.decodeResponse(await this.#pool.send(SetOption.CODE, SetOption.encodeRequest({ tag, value }), { idempotent: false }));
  }

  /** Raw GET_OPTION. */
  async getOption(tag: number): Promise<Uint8Array> {
    assertInt('tag', tag, 0, 0xff);
    return GetOption.decodeResponse(await this.#pool.send(GetOption.CODE, GetOption.encodeRequest({ tag }))).value;
  }

  /** With force audit on, a command that cannot be logged (log full) fails with LOG_FULL. FIXED lasts until a factory reset. */
  async setForceAudit(mode: AuditSetting): Promise<void> {
    assertAuditSetting('mode', mode);
    await this.setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(mode));
  }

  async getForceAudit(): Promise<AuditSetting> {
    const value = await this.getOption(OptionTag.FORCE_AUDIT);
    if (value.length !== 1 || value[0]! > AuditMode.FIXED) throw new RangeError('device returned a force-audit value that is not OFF, ON or FIXED');
    return value[0] as AuditSetting;
  }

  /** Which commands are logged: only the commands given change. */
  async setCommandAudit(settings: ReadonlyMap<number, AuditSetting>): Promise<void> {
    if (!(settings instanceof Map)) throw new TypeError('settings must be a Map of command code to audit setting');
    for (const [command, setting] of settings) {
      if (!AUDITABLE_COMMANDS.has(command)) throw new RangeError(`command 0x${Number(command).toString(16)} is not a YubiHSM 2 command`);
      assertAuditSetting(`settings[0x${command.toString(16)}]`, setting);
    }
    await this.setOption(OptionTag.COMMAND_AUDIT, SetOption.encodePairs(settings));
  }

  async getCommandAudit(): Promise<Map<number, AuditSetting>> {
    const pairs = SetOption.decodePairs(await this.getOption(OptionTag.COMMAND_AUDIT));
    for (const setting of pairs.values()) {
      if (setting > AuditMode.FIXED) throw new RangeError('device returned a command-audit value that is not OFF, ON or FIXED');
    }
    return pairs as Map<number, AuditSetting>;
  }

  /** Returns the new wrap key's ID. The key bytes are zeroed in the request buffer once sent. */
  async putWrapKey(params: PutWrapKeyParams): Promise<number> {
    const header = objectHeader(params);
    assertU64('delegatedCapabilities', params.delegatedCapabilities);
    assertBytes('key', params.key, { min: 16, max: 512 });
    const payload = PutWrapKey.encodeRequest({ ...header, delegatedCapabilities: params.delegatedCapabilities, key: params.key });
    try {
      return PutWrapKey.decodeResponse(await this.#pool.send(PutWrapKey.CODE, payload, { idempotent: false })).id;
    } finally {
      payload.fill(0);
    }
  }

  /** A wrap key made inside the device, so its key never exists outside it. */
  async generateWrapKey(params: GenerateWrapKeyParams): Promise<GeneratedObject> {
    const header = objectHeader(params);
    assertU64('delegatedCapabilities', params.delegatedCapabilities);
    const req = { ...header, delegatedCapabilities: params.delegatedCapabilities };
    const { payload, deviceSerial } = await this.#pool.exchange(GenerateWrapKey.CODE, GenerateWrapKey.encodeRequest(req), {
      idempotent: false,
      timeoutMs: GENERATE_TIMEOUT_MS,
    });
    return { id: GenerateWrapKey.decodeResponse(payload).id, deviceSerial };
  }

  /**
   * The object under AES-CCM wrap, as `nonce(13) || ciphertext || tag(16)` (base64 of it is
   * yubihsm-shell's `.yhw` file). `includeEd25519Seed` asks firmware ≥ 2.4 to carry an Ed25519
   * key's seed as well.
   */
  async exportWrapped(wrapKeyId: number, type: number, id: number, options: { includeEd25519Seed?: boolean; expectSerial?: number } = {}): Promise<Uint8Array> {
    assertInt('wrapKeyId', wrapKeyId, ...ID_RANGE);
    assertInt('type', type, 1, 0xff);
    assertInt('id', id, ...ID_RANGE);
    const format = options.includeEd25519Seed === true ? ExportWrapped.ExportFormat.WITH_ED25519_SEED : ExportWrapped.ExportFormat.LEGACY;
    const payload = ExportWrapped.encodeRequest({ wrapKeyId, type, id, format });
    return joinCcmWrapped(ExportWrapped.decodeResponse(await this.#pool.send(ExportWrapped.CODE, payload, onDevice(options.expectSerial))));
  }

  /** Imports an EXPORT_WRAPPED blob; the object keeps the type and ID it was exported with. */
  async importWrapped(wrapKeyId: number, wrapped: Uint8Array, expectSerial?: number): Promise<ImportWrapped.Response> {
    assertInt('wrapKeyId', wrapKeyId, ...ID_RANGE);
    assertBytes('wrapped', wrapped, { min: CCM_NONCE_LENGTH + CCM_TAG_LENGTH, max: maxSessionPayload() - 2 });
    const req = { wrapKeyId, ...splitCcmWrapped(wrapped) };
    const options = { ...onDevice(expectSerial), idempotent: false };
    return ImportWrapped.decodeResponse(await this.#pool.send(ImportWrapped.CODE, ImportWrapped.encodeRequest(req), options));
  }

  /** AES-CCM under a wrap key with wrap-data: `nonce(13) || ciphertext || tag(16)`, 30 bytes longer than `data`. */
  async wrapData(keyId: number, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('data', data, { min: 1, max: MAX_WRAP_DATA });
    const payload = WrapData.encodeRequest({ keyId, data });
    return joinCcmWrapped(WrapData.decodeResponse(await this.#pool.send(WrapData.CODE, payload, onDevice(expectSerial))));
  }

  async unwrapData(keyId: number, wrapped: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('wrapped', wrapped, { min: WrapData.WRAP_DATA_OVERHEAD + 1, max: maxSessionPayload() - 2 });
    const req = UnwrapData.encodeRequest({ keyId, ...splitCcmWrapped(wrapped) });
    return UnwrapData.decodeResponse(await this.#pool.send(UnwrapData.CODE, req, onDevice(expectSerial))).data;
  }

  /**
   * HMAC_SHA1/256/384/512 key. A key longer than the hash's block size is hashed first (RFC 2104
   * §2), as python-yubihsm does: the device takes at most one block.
   */
  async putHmacKey(params: PutKeyParams): Promise<number> {
    const header = objectHeader(params);
    const spec = PutHmacKey.HMAC_ALGORITHMS.get(header.algorithm);
    if (spec === undefined) throw new RangeError(`algorithm ${header.algorithm} is not an HMAC algorithm`);
    assertBytes('key', params.key, { min: 1 });
    const key = params.key.length > spec.blockSize ? new Uint8Array(createHash(spec.hash).update(params.key).digest()) : params.key;
    const payload = PutHmacKey.encodeRequest({ ...header, key });
    try {
      return PutHmacKey.decodeResponse(await this.#pool.send(PutHmacKey.CODE, payload, { idempotent: false })).id;
    } finally {
      payload.fill(0);
      if (key !== params.key) key.fill(0);
    }
  }

  async generateHmacKey(params: GenerateAsymmetricKeyParams): Promise<GeneratedObject> {
    const req = objectHeader(params);
    const { payload, deviceSerial } = await this.#pool.exchange(GenerateHmacKey.CODE, GenerateHmacKey.encodeRequest(req), { idempotent: false });
    return { id: GenerateHmacKey.decodeResponse(payload).id, deviceSerial };
  }

  /** The MAC, 20/32/48/64 bytes by the key's hash. */
  async signHmac(keyId: number, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('data', data, { max: MAX_HMAC_DATA });
    return SignHmac.decodeResponse(await this.#pool.send(SignHmac.CODE, SignHmac.encodeRequest({ keyId, data }), onDevice(expectSerial))).data;
  }

  /** Whether `mac` is the key's HMAC of `data`, compared inside the device. */
  async verifyHmac(keyId: number, mac: Uint8Array, data: Uint8Array, expectSerial?: number): Promise<boolean> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('mac', mac, { min: 20, max: 64 });
    assertBytes('data', data, { max: MAX_HMAC_DATA });
    const payload = VerifyHmac.encodeRequest({ keyId, mac, data });
    return VerifyHmac.decodeResponse(await this.#pool.send(VerifyHmac.CODE, payload, onDevice(expectSerial))).valid;
  }

  /** AES128/192/256 key for ENCRYPT/DECRYPT_ECB/CBC (firmware ≥ 2.3.1). */
  async putSymmetricKey(params: PutKeyParams): Promise<number> {
    const header = objectHeader(params);
    assertBytes('key', params.key, { min: 16, max: 32 });
    const payload = PutSymmetricKey.encodeRequest({ ...header, key: params.key });
    try {
      return PutSymmetricKey.decodeResponse(await this.#pool.send(PutSymmetricKey.CODE, payload, { idempotent: false })).id;
    } finally {
      payload.fill(0);
    }
  }

  async generateSymmetricKey(params: GenerateAsymmetricKeyParams): Promise<GeneratedObject> {
    const req = objectHeader(params);
    const { payload, deviceSerial } = await this.#pool.exchange(GenerateSymmetricKey.CODE, GenerateSymmetricKey.encodeRequest(req), { idempotent: false });
    return { id: GenerateSymmetricKey.decodeResponse(payload).id, deviceSerial };
  }

  /** AES-ECB over whole blocks, sent in as many commands as the length needs. */
  encryptEcb(keyId: number, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    return this.#ecb(EncryptEcb, keyId, data, expectSerial);
  }

  decryptEcb(keyId: number, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    return this.#ecb(DecryptEcb, keyId, data, expectSerial);
  }

  /** AES-CBC over whole blocks; longer data is chained across commands, as one CBC pass. */
  encryptCbc(keyId: number, iv: Uint8Array, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    return this.#cbc(EncryptCbc, true, keyId, iv, data, expectSerial);
  }

  decryptCbc(keyId: number, iv: Uint8Array, data: Uint8Array, expectSerial?: number): Promise<Uint8Array> {
    return this.#cbc(DecryptCbc, false, keyId, iv, data, expectSerial);
  }

  async #ecb(codec: typeof EncryptEcb | typeof DecryptEcb, keyId: number, data: Uint8Array, expectSerial: number | undefined): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertAesBlocks(data);
    const options = onDevice(expectSerial);
    const out = new Uint8Array(data.length);
    for (let at = 0; at < data.length; at += AES_CHUNK) {
      const chunk = data.subarray(at, at + AES_CHUNK);
      out.set(codec.decodeResponse(await this.#pool.send(codec.CODE, codec.encodeRequest({ keyId, data: chunk }), options)).data, at);
    }
    return out;
  }

  async #cbc(
    codec: typeof EncryptCbc | typeof DecryptCbc,
    encrypt: boolean,
    keyId: number,
    iv: Uint8Array,
    data: Uint8Array,
    expectSerial: number | undefined,
  ): Promise<Uint8Array> {
    assertInt('keyId', keyId, ...ID_RANGE);
    assertBytes('iv', iv, 16);
    assertAesBlocks(data);
    const options = onDevice(expectSerial);
    const out = new Uint8Array(data.length);
    let chain = iv;
    for (let at = 0; at < data.length; at += AES_CHUNK) {
      const chunk = data.subarray(at, at + AES_CHUNK);
      const result = codec.decodeResponse(await this.#pool.send(codec.CODE, codec.encodeRequest({ keyId, iv: chain, data: chunk }), options)).data;
      out.set(result, at);
      // The next chunk's IV is the last ciphertext block, on whichever side it is.
      chain = (encrypt ? result : chunk).slice(-16);
    }
    return out;
  }

  /** CLOSE_SESSION on every idle session; the client stays usable. */
  closeSession(): Promise<void> {
    return this.#pool.closeIdle();
  }

  stats(): ClientStats {
    const c = this.connector.stats();
    return { ...this.#pool.stats(), connectorRequests: c.apiRequests + c.statusRequests };
  }

  /** Closes every session and the keep-alive sockets, then zeroes the auth key. */
  async close(): Promise<void> {
    await this.#pool.close();
    this.connector.close();
    this.#authKey.encKey.fill(0);
    this.#authKey.macKey.fill(0);
  }

  toJSON(): Record<string, unknown> {
    return { connectorUrl: this.connector.url, authKeyId: this.authKeyId, authKey: '[redacted]' };
  }

  [inspect.custom](): string {
    return `YubiHsmClient ${inspect(this.toJSON())}`;
  }
}
