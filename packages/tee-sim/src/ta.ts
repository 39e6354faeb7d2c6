// The simulated trusted application: what an OP-TEE TA would do behind TEEC_InvokeCommand, in
// software. Commands take a validated payload and return a result, or throw TaError with the GP
// result code and origin the real TA would return.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { spkiFromRawPublicKey } from '@kmsgate/core';
import {
  ATTESTATION_DOMAIN,
  KEY_TYPES,
  SEAL_OVERHEAD_BYTES,
  TEEC_ORIGIN,
  TEEC_RESULT,
  fromHex,
  toHex,
  type CommandName,
  type KeyType,
  type ParsedPayload,
  type Result,
} from '@kmsgate/tee';
import { TaError } from '@kmsgate/tee-bridge';
import { SimStorage, deriveKey, type DeviceSecrets, type StorageStatus, type StoredKey } from './storage';

/** The simulator's TA identity. A random v4 UUID chosen once for tee-sim; a board's TA has its own. */
export const SIM_TA_UUID = '6f1c0b7e-3a5d-4c2e-9b8f-1d2e3f4a5b6c';
export const SIM_TA_VERSION = '0.1.0';
/** The measurement a board's attestation PTA would report as the TA's signed-header digest. */
export const SIM_MEASUREMENT = new Uint8Array(createHash('sha256').update(`kmsgate-tee-sim trusted application ${SIM_TA_VERSION}`).digest());
export const SIM_BUILD_HASH = `tee-sim-${SIM_TA_VERSION}-${toHex(SIM_MEASUREMENT).slice(0, 12)}`;
/** Keys the simulated secure storage holds before STORAGE_NO_SPACE. */
export const DEFAULT_MAX_KEYS = 4096;

type Payloads = { [C in CommandName]: ParsedPayload<C> };

const WEIERSTRASS = { P256: p256, SECP256K1: secp256k1 } as const;
/** The TA's SEAL layout: nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16). */
const SEAL_NONCE_BYTES = 12;
const SEAL_TAG_BYTES = SEAL_OVERHEAD_BYTES - SEAL_NONCE_BYTES;

export interface TaOptions {
  statePath?: string;
  rpmbPath?: string;
  maxKeys?: number;
  measurement?: Uint8Array;
  /** Key types generateKey accepts (default all): a TA built without a curve refuses it. */
  keyTypes?: readonly KeyType[];
}

export class SimulatedTa {
  readonly storage: SimStorage;
  readonly measurement: Uint8Array;
  readonly maxKeys: number;
  readonly keyTypes: readonly KeyType[];
  readonly status: StorageStatus;
  /** Set when the counter was rolled forward after an interrupted write. */
  readonly recovered: string | undefined;
  readonly #device: DeviceSecrets;
  readonly #keys = new Map<string, StoredKey>();
  readonly #attestationKey: Uint8Array;

  constructor(options: TaOptions = {}) {
    this.storage = new SimStorage(options.statePath, options.rpmbPath);
    this.measurement = options.measurement ?? SIM_MEASUREMENT;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.keyTypes = [...(options.keyTypes ?? KEY_TYPES)];
    const opened = this.storage.open();
    this.#device = opened.device;
    this.status = opened.status;
    this.recovered = opened.recovered;
    for (const k of opened.keys) this.#keys.set(k.handle, k);
    // The device attestation key: derived from the HUK, so it is stable for one device and never stored.
    this.#attestationKey = p256.utils.randomSecretKey(deriveKey(this.#device.huk, 'attestation-key/v1', 48));
  }

  get counter(): number {
    return this.#device.counter;
  }

  get keyCount(): number {
    return this.#keys.size;
  }

  /** The device attestation public key, DER SPKI (what a verifier pins). */
  get attestationPublicKey(): Uint8Array {
    return spkiFromRawPublicKey('ECC_NIST_P256', p256.getPublicKey(this.#attestationKey, false).subarray(1));
  }

  invoke<C extends Exclude<CommandName, 'hello'>>(cmd: C, payload: Payloads[C]): Result<C> {
    const handler = this.#handlers[cmd] as (p: Payloads[C]) => Result<C>;
    return handler(payload);
  }

  readonly #handlers: { [C in Exclude<CommandName, 'hello'>]: (p: Payloads[C]) => Result<C> } = {
    ping: () => {
      this.#requireStorage();
      return {};
    },
    generateKey: ({ keyType, label }) => {
      if (!this.keyTypes.includes(keyType))
        throw new TaError(TEEC_RESULT.TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, `this TA has no ${keyType} keys`);
      this.#requireStorage();
      if (this.#keys.size >= this.maxKeys)
        throw new TaError(TEEC_RESULT.TEEC_ERROR_STORAGE_NO_SPACE, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, `secure storage holds ${this.maxKeys} keys already`);
      const key: StoredKey = { handle: `k-${randomBytes(16).toString('hex')}`, keyType, label, secret: newSecret(keyType) };
      this.#keys.set(key.handle, key);
      try {
        this.storage.commit(this.#device, [...this.#keys.values()]);
      } catch (e) {
        this.#keys.delete(key.handle);
        throw new TaError(
          TEEC_RESULT.TEEC_ERROR_STORAGE_NOT_AVAILABLE,
          TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP,
          `cannot write secure storage: ${(e as Error).message}`,
        );
      }
      return { handle: key.handle, publicKey: toHex(publicKeyOf(key)) };
    },
    getPublicKey: ({ handle }) => {
      const key = this.#key(handle);
      if (key.keyType === 'AES_256') throw badParameters(`key ${handle} is an AES_256 key: it has no public key`);
      return { keyType: key.keyType, publicKey: toHex(publicKeyOf(key)) };
    },
    sign: ({ handle, algorithm, input }) => {
      const key = this.#key(handle);
      const data = fromHex(input);
      if (algorithm === 'ED25519') {
        if (key.keyType !== 'ED25519') throw badParameters(`key ${handle} is ${key.keyType}, not ED25519`);
        return { signature: toHex(ed25519.sign(data, key.secret)) };
      }
      if (key.keyType !== 'P256' && key.keyType !== 'SECP256K1') throw badParameters(`key ${handle} is ${key.keyType}, not an ECDSA key`);
      // GP TEE_AsymmetricSignDigest output for ECDSA: r ‖ s, each the curve's size. Not low-S
      // normalised, like our TA (GP API and mbed TLS) and AWS KMS.
      return { signature: toHex(WEIERSTRASS[key.keyType].sign(data, key.secret, { prehash: false, lowS: false }).toCompactRawBytes()) };
    },
    deleteKey: ({ handle }) => {
      this.#requireStorage();
      const key = this.#keys.get(handle);
      if (!key) return { deleted: false };
      this.#keys.delete(handle);
      try {
        this.storage.commit(this.#device, [...this.#keys.values()]);
      } catch (e) {
        this.#keys.set(handle, key);
        throw new TaError(
          TEEC_RESULT.TEEC_ERROR_STORAGE_NOT_AVAILABLE,
          TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP,
          `cannot write secure storage: ${(e as Error).message}`,
        );
      }
      key.secret.fill(0);
      return { deleted: true };
    },
    seal: ({ handle, aad, plaintext }) => {
      const key = this.#aesKey(handle);
      const nonce = randomBytes(SEAL_NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key.secret, nonce);
      cipher.setAAD(fromHex(aad));
      const body = Buffer.concat([cipher.update(fromHex(plaintext)), cipher.final()]);
      return { sealed: toHex(Buffer.concat([nonce, body, cipher.getAuthTag()])) };
    },
    unseal: ({ handle, aad, sealed }) => {
      const key = this.#aesKey(handle);
      const blob = fromHex(sealed);
      const decipher = createDecipheriv('aes-256-gcm', key.secret, blob.subarray(0, SEAL_NONCE_BYTES));
      decipher.setAAD(fromHex(aad));
      decipher.setAuthTag(blob.subarray(blob.length - SEAL_TAG_BYTES));
      try {
        return { plaintext: toHex(Buffer.concat([decipher.update(blob.subarray(SEAL_NONCE_BYTES, blob.length - SEAL_TAG_BYTES)), decipher.final()])) };
      } catch {
        // The TA's answer: TEE_AEDecryptFinal's TEE_ERROR_MAC_INVALID, and no plaintext.
        throw new TaError(TEEC_RESULT.TEE_ERROR_MAC_INVALID, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, 'the sealed data does not authenticate under this key');
      }
    },
    random: ({ length }) => ({ bytes: toHex(new Uint8Array(randomBytes(length))) }),
    getRollbackCounter: () => ({ counter: this.#device.counter }),
    getAttestation: ({ nonce }) => {
      const signed = Buffer.concat([new TextEncoder().encode(ATTESTATION_DOMAIN), fromHex(nonce), this.measurement]);
      const digest = createHash('sha256').update(signed).digest();
      return {
        algorithm: 'ECDSA_P256_SHA256' as const,
        publicKey: toHex(this.attestationPublicKey),
        measurement: toHex(this.measurement),
        nonce,
        signature: toHex(p256.sign(digest, this.#attestationKey, { prehash: false }).toDERRawBytes()),
      };
    },
  };

  #requireStorage(): void {
    if (!this.status.ok)
      throw new TaError(TEEC_RESULT.TEEC_ERROR_SECURITY, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, `sealed storage refused: ${this.status.reason}`);
  }

  #aesKey(handle: string): StoredKey {
    const key = this.#key(handle);
    if (key.keyType !== 'AES_256') throw badParameters(`key ${handle} is ${key.keyType}, not an AES_256 key`);
    return key;
  }

  #key(handle: string): StoredKey {
    this.#requireStorage();
    const key = this.#keys.get(handle);
    if (!key) throw new TaError(TEEC_RESULT.TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, `no key with handle ${handle}`);
    return key;
  }
}

function badParameters(message: string): TaError {
  return new TaError(TEEC_RESULT.TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP, message);
}

function newSecret(keyType: KeyType): Uint8Array {
  if (keyType === 'ED25519' || keyType === 'AES_256') return new Uint8Array(randomBytes(32));
  return WEIERSTRASS[keyType].utils.randomSecretKey();
}

/** SEC1 uncompressed point for EC keys, the RFC 8032 encoding for Ed25519, nothing for AES. */
function publicKeyOf(key: StoredKey): Uint8Array {
  if (key.keyType === 'AES_256') return new Uint8Array(0);
  if (key.keyType === 'ED25519') return ed25519.getPublicKey(key.secret);
  return WEIERSTRASS[key.keyType].getPublicKey(key.secret, false);
}
