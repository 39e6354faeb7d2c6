/**
 * KeyBackend over an OP-TEE trusted application, reached through the bridge daemon's Unix socket
 * (docs/tee-bridge-protocol.md). Keys are generated in the TA and never leave it; the handle is the
 * TA's own key handle. Every failure leaves here as a core KmsError whose message names the
 * backend, never a socket path detail a client should not see, a key or a signature.
 */
import { inspect } from 'node:util';
import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import {
  type BackendDescription,
  type GeneratedKey,
  type KeyBackend,
  KEY_SPECS,
  KmsError,
  SEALED_PAYLOAD_LENGTH,
  type SupportedKeySpec,
  type SupportedSigningAlgorithm,
  invalidCiphertext,
  spkiFromRawPublicKey,
} from '@kmsgate/core';
import { TeeBridgeClient, type BreakerOptions, type ClientState, type ClientStats } from './client';
import type { BridgeClock } from './clock';
import { TeeBridgeError } from './errors';
import {
  ECDSA_DIGEST_BYTES,
  MAX_LABEL_LENGTH,
  MAX_NONCE_BYTES,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
  MIN_NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  SEAL_OVERHEAD_BYTES,
  fromHex,
  toHex,
  type Attestation,
  type BridgeMode,
  type HelloInfo,
  type KeyType,
} from './protocol';
import { TEEC_RESULT, parseTeecHex } from './teec';

/** The TA key type behind each key spec this backend can hold. */
export const KEY_SPEC_KEY_TYPE = {
  ECC_NIST_P256: 'P256',
  ECC_SECG_P256K1: 'SECP256K1',
  ECC_NIST_EDWARDS25519: 'ED25519',
  SYMMETRIC_DEFAULT: 'AES_256',
} as const satisfies Partial<Record<SupportedKeySpec, KeyType>>;

type TeeKeySpec = keyof typeof KEY_SPEC_KEY_TYPE;

const KEY_SPECS_SUPPORTED = Object.keys(KEY_SPEC_KEY_TYPE) as SupportedKeySpec[];
/** Ed25519ph is absent: the TA signs the message itself (pure Ed25519) and has no prehash variant. */
const SIGNING_ALGORITHMS_SUPPORTED: readonly SupportedSigningAlgorithm[] = ['ECDSA_SHA_256', 'ED25519_SHA_512'];

const CURVES = { P256: p256, SECP256K1: secp256k1 } as const;

/**
 * The AAD of every data key the TA seals for a SYMMETRIC_DEFAULT ciphertext (docs/cryptography.md):
 * should the TA's AES keys ever seal anything else, under another AAD, neither could be passed off
 * as the other.
 */
const DATA_KEY_AAD = new TextEncoder().encode('kmsgate-symmetric-v1 data key');
/** What seal() returns: nonce (12) ‖ AES-256-GCM of the payload ‖ tag (16). */
const SEALED_LENGTH = SEALED_PAYLOAD_LENGTH + SEAL_OVERHEAD_BYTES;

export interface TeeBackendOptions {
  id: string;
  name?: string;
  socketPath: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxOutstanding?: number;
  breaker?: BreakerOptions;
  /** Refuse to use a bridge whose hello does not say `mode: "real"` (production). */
  requireReal?: boolean;
  /** What to report as `simulated` before the first hello (an embedded simulator: true). */
  expectSimulated?: boolean;
  onEvent?: (event: string, detail: Record<string, string | number | boolean>) => void;
  /** What the client's deadlines, backoff and breaker cooldown are measured on (tests: a manual clock). */
  clock?: BridgeClock;
}

/** What GET /attestation returns: the TA's signed statement plus who made it. */
export interface TeeAttestation extends Attestation {
  backendId: string;
  mode: BridgeMode;
  taUuid: string;
  buildHash: string;
}

type Operation = 'generateKey' | 'getPublicKey' | 'sign' | 'deleteKey' | 'random' | 'seal' | 'unseal' | 'attestation' | 'rollbackCounter' | 'describe';

export class TeeBackend implements KeyBackend {
  readonly id: string;
  readonly kind = 'tee' as const;
  readonly name: string;
  readonly signingAlgorithms: readonly SupportedSigningAlgorithm[] = SIGNING_ALGORITHMS_SUPPORTED;
  readonly client: TeeBridgeClient;
  readonly #expectSimulated: boolean;
  readonly #describeTimeoutMs: number;
  #keySpecsOf: { hello: HelloInfo; specs: readonly SupportedKeySpec[] } | undefined;
  #closed = false;

  constructor(options: TeeBackendOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (typeof options.id !== 'string') throw new TypeError('id must be a string');
    if (options.id.length === 0) throw new RangeError('id must not be empty');
    this.id = options.id;
    // Not the socket path: the name is shown on the unauthenticated /health.
    this.name = options.name ?? `OP-TEE trusted application (${options.id})`;
    this.#expectSimulated = options.expectSimulated ?? false;
    this.client = new TeeBridgeClient({
      socketPath: options.socketPath,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxOutstanding: options.maxOutstanding,
      breaker: options.breaker,
      ...(options.requireReal && { requireMode: 'real' as const }),
      clientName: `kmsgate backend ${options.id}`,
      onEvent: options.onEvent,
      ...(options.clock && { clock: options.clock }),
    });
    this.#describeTimeoutMs = Math.min(options.requestTimeoutMs ?? 10_000, 2_000);
  }

  /**
   * The key specs of the key types the bridge's last `hello` announced (a TA may lack a curve).
   * Before any hello: every spec this backend can map, and generateKey asks for a hello first.
   */
  get keySpecs(): readonly SupportedKeySpec[] {
    const hello = this.client.hello;
    if (!hello) return KEY_SPECS_SUPPORTED;
    if (this.#keySpecsOf?.hello !== hello)
      this.#keySpecsOf = { hello, specs: KEY_SPECS_SUPPORTED.filter((spec) => hello.keyTypes.includes(KEY_SPEC_KEY_TYPE[spec as TeeKeySpec])) };
    return this.#keySpecsOf.specs;
  }

  /** Simulated or not, from the last hello; before any, what the configuration expects. */
  get simulated(): boolean {
    const hello = this.client.hello;
    return hello ? hello.mode === 'simulated' : this.#expectSimulated;
  }

  async describe(): Promise<BackendDescription> {
    const detail: Record<string, string | number | boolean> = {};
    const base = () => ({
      id: this.id,
      kind: this.kind,
      name: this.name,
      keySpecs: this.keySpecs,
      signingAlgorithms: this.signingAlgorithms,
      simulated: this.simulated,
    });
    if (this.#closed) return { ...base(), connectionState: 'DISCONNECTED', detail };
    try {
      // A live round trip through the daemon to the TA; it opens (and says hello on) a session if needed.
      const hello = await this.client.handshake({ timeoutMs: this.#describeTimeoutMs });
      Object.assign(detail, helloDetail(hello));
      return { ...base(), connectionState: 'CONNECTED', detail };
    } catch (e) {
      const hello = this.client.hello;
      if (hello) Object.assign(detail, helloDetail(hello));
      const state = this.client.state();
      detail.breaker = state.breaker;
      detail.error = errorDetail(e);
      const failure = e instanceof TeeBridgeError && e.kind !== 'remote' ? 'network' : 'internal';
      return { ...base(), connectionState: 'FAILED', failure, detail };
    }
  }

  async generateKey(spec: SupportedKeySpec, label: string): Promise<GeneratedKey> {
    const keyType = this.keyTypeFor(spec);
    if (typeof label !== 'string') throw new TypeError('label must be a string');
    if (label.length < 1 || label.length > MAX_LABEL_LENGTH) throw new RangeError(`label must be 1-${MAX_LABEL_LENGTH} characters, got ${label.length}`);
    let generated;
    try {
      const hello = this.client.hello ?? (await this.client.handshake());
      // What CreateKey answers for a spec the backend does not list, before anything reaches the TA.
      if (!hello.keyTypes.includes(keyType))
        throw new KmsError('UnsupportedOperationException', `KeySpec ${spec} is not supported by custom key store ${this.id}.`);
      generated = await this.client.call('generateKey', { keyType, label });
    } catch (e) {
      throw this.toKmsError(e, 'generateKey');
    }
    try {
      return { handle: generated.handle, publicKey: this.spki(spec, keyType, fromHex(generated.publicKey)) };
    } catch (e) {
      // Do not leave a key in the TA that no KMS record will ever point to.
      await this.client.call('deleteKey', { handle: generated.handle }).catch(() => undefined);
      throw this.toKmsError(e, 'generateKey');
    }
  }

  async getPublicKey(handle: string, spec: SupportedKeySpec): Promise<Uint8Array> {
    const keyType = this.keyTypeFor(spec);
    checkHandle(handle);
    if (keyType === 'AES_256') throw new KmsError('UnsupportedOperationException', `${spec} keys have no public key.`);
    try {
      const out = await this.client.call('getPublicKey', { handle });
      if (out.keyType !== keyType) throw new KmsError('KMSInternalException', `Key ${handle} on backend ${this.id} is a ${out.keyType} key, not ${spec}.`);
      return this.spki(spec, keyType, fromHex(out.publicKey));
    } catch (e) {
      throw this.toKmsError(e, 'getPublicKey');
    }
  }

  async sign(handle: string, spec: SupportedKeySpec, algorithm: SupportedSigningAlgorithm, input: Uint8Array): Promise<Uint8Array> {
    const keyType = this.keyTypeFor(spec);
    checkHandle(handle);
    if (!(KEY_SPECS[spec].signingAlgorithms as readonly string[]).includes(algorithm))
      throw new KmsError('InvalidKeyUsageException', `${algorithm} is not a signing algorithm of ${spec} keys.`);
    if (!this.signingAlgorithms.includes(algorithm))
      throw new KmsError('UnsupportedOperationException', `The TEE backend ${this.id} does not support ${algorithm}.`);
    if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
    try {
      if (keyType === 'ED25519') {
        if (input.length > MAX_SIGN_MESSAGE_BYTES)
          throw new KmsError('UnsupportedOperationException', `The TEE backend ${this.id} signs Ed25519 messages of at most ${MAX_SIGN_MESSAGE_BYTES} bytes.`);
        const { signature } = await this.client.call('sign', { handle, algorithm: 'ED25519', input: toHex(input) });
        return fromHex(signature);
      }
      // Unreachable past the algorithm check above; it narrows keyType to the ECDSA curves.
      if (keyType === 'AES_256') throw new KmsError('InvalidKeyUsageException', `${spec} keys do not sign.`);
      if (input.length !== ECDSA_DIGEST_BYTES)
        throw new RangeError(`input must be the ${ECDSA_DIGEST_BYTES}-byte digest for ${algorithm}, got ${input.length}`);
      const { signature } = await this.client.call('sign', { handle, algorithm: 'ECDSA_SHA_256', input: toHex(input) });
      // The TA answers r ‖ s; AWS answers DER. fromCompact also checks 0 < r, s < n.
      try {
        return CURVES[keyType].Signature.fromCompact(fromHex(signature)).toDERRawBytes();
      } catch {
        throw new KmsError('KMSInternalException', `The TEE backend ${this.id} returned a malformed ${algorithm} signature.`);
      }
    } catch (e) {
      throw this.toKmsError(e, 'sign');
    }
  }

  /** Deleting a key that is already gone succeeds: the wanted end state holds. */
  async deleteKey(handle: string, spec: SupportedKeySpec): Promise<void> {
    this.keyTypeFor(spec);
    checkHandle(handle);
    try {
      await this.client.call('deleteKey', { handle });
    } catch (e) {
      throw this.toKmsError(e, 'deleteKey');
    }
  }

  async random(length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 0 || length > 1 << 20) throw new RangeError('length must be an integer in 0..1048576');
    const out = new Uint8Array(length);
    try {
      for (let at = 0; at < length; at += MAX_RANDOM_BYTES) {
        const n = Math.min(MAX_RANDOM_BYTES, length - at);
        const { bytes } = await this.client.call('random', { length: n });
        const chunk = fromHex(bytes);
        if (chunk.length !== n) throw new KmsError('KMSInternalException', `The TEE backend ${this.id} returned ${chunk.length} random bytes instead of ${n}.`);
        out.set(chunk, at);
      }
    } catch (e) {
      throw this.toKmsError(e, 'random');
    }
    return out;
  }

  /** AES-256-GCM in the TA under the key, with a random nonce from the TEE: `nonce(12) ‖ ciphertext ‖ tag(16)`. */
  async seal(handle: string, payload: Uint8Array): Promise<Uint8Array> {
    checkHandle(handle);
    if (!(payload instanceof Uint8Array) || payload.length !== SEALED_PAYLOAD_LENGTH) throw new RangeError(`payload must be ${SEALED_PAYLOAD_LENGTH} bytes`);
    try {
      const sealed = fromHex((await this.client.call('seal', { handle, aad: toHex(DATA_KEY_AAD), plaintext: toHex(payload) })).sealed);
      if (sealed.length !== SEALED_LENGTH)
        throw new KmsError('KMSInternalException', `The TEE backend ${this.id} sealed ${payload.length} bytes into ${sealed.length}.`);
      return sealed;
    } catch (e) {
      throw this.toKmsError(e, 'seal');
    }
  }

  /** The TA checks the GCM tag: any altered byte, another key or another device fails with TEE_ERROR_MAC_INVALID. */
  async unseal(handle: string, sealed: Uint8Array): Promise<Uint8Array> {
    checkHandle(handle);
    if (!(sealed instanceof Uint8Array)) throw new TypeError('sealed must be a Uint8Array');
    // Anything else was not made by seal(): refused before it costs a TA call.
    if (sealed.length !== SEALED_LENGTH) throw invalidCiphertext();
    try {
      return fromHex((await this.client.call('unseal', { handle, aad: toHex(DATA_KEY_AAD), sealed: toHex(sealed) })).plaintext);
    } catch (e) {
      if (e instanceof TeeBridgeError && e.remote?.teec !== undefined && parseTeecHex(e.remote.teec) === TEEC_RESULT.TEE_ERROR_MAC_INVALID)
        throw invalidCiphertext();
      throw this.toKmsError(e, 'unseal');
    }
  }

  /** The TA's signature over nonce ‖ measurement, with the device attestation key and the hello facts. */
  async attestation(nonce: Uint8Array): Promise<TeeAttestation> {
    if (!(nonce instanceof Uint8Array)) throw new TypeError('nonce must be a Uint8Array');
    if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES)
      throw new RangeError(`nonce must be ${MIN_NONCE_BYTES}-${MAX_NONCE_BYTES} bytes, got ${nonce.length}`);
    try {
      const att = await this.client.call('getAttestation', { nonce: toHex(nonce) });
      if (att.nonce !== toHex(nonce)) throw new KmsError('KMSInternalException', `The TEE backend ${this.id} attested a different nonce.`);
      const hello = this.client.hello!;
      return { ...att, backendId: this.id, mode: hello.mode, taUuid: hello.taUuid, buildHash: hello.buildHash };
    } catch (e) {
      throw this.toKmsError(e, 'attestation');
    }
  }

  async rollbackCounter(): Promise<number> {
    try {
      return (await this.client.call('getRollbackCounter', {})).counter;
    } catch (e) {
      throw this.toKmsError(e, 'rollbackCounter');
    }
  }

  /** Opens a session now and returns its hello (for the production check at startup). */
  async handshake(): Promise<HelloInfo> {
    try {
      return await this.client.handshake();
    } catch (e) {
      throw this.toKmsError(e, 'describe');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.client.close();
  }

  state(): ClientState {
    return this.client.state();
  }

  stats(): ClientStats {
    return this.client.stats();
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, kind: this.kind, name: this.name, simulated: this.simulated, state: this.client.state() };
  }

  [inspect.custom](): string {
    return `TeeBackend ${inspect(this.toJSON())}`;
  }

  private keyTypeFor(spec: SupportedKeySpec): KeyType {
    if (!Object.prototype.hasOwnProperty.call(KEY_SPEC_KEY_TYPE, spec))
      throw new KmsError('UnsupportedOperationException', `The TEE backend ${this.id} does not support key spec ${String(spec)}.`);
    return KEY_SPEC_KEY_TYPE[spec as TeeKeySpec];
  }

  /** DER SPKI from the TA's raw public key (empty for AES); node:crypto refuses a point that is not on the curve. */
  private spki(spec: SupportedKeySpec, keyType: KeyType, raw: Uint8Array): Uint8Array {
    if (raw.length !== PUBLIC_KEY_BYTES[keyType] || (keyType !== 'ED25519' && keyType !== 'AES_256' && raw[0] !== 0x04))
      throw new KmsError('KMSInternalException', `The TEE backend ${this.id} returned a malformed ${keyType} public key.`);
    if (keyType === 'AES_256') return raw;
    try {
      return spkiFromRawPublicKey(spec, keyType === 'ED25519' ? raw : raw.subarray(1));
    } catch {
      throw new KmsError('KMSInternalException', `The TEE backend ${this.id} returned a ${keyType} public key that is not a valid point.`);
    }
  }

  private toKmsError(e: unknown, operation: Operation): Error {
    if (e instanceof KmsError || e instanceof TypeError || e instanceof RangeError) return e;
    const cause = { cause: e };
    if (!(e instanceof TeeBridgeError)) return new KmsError('KMSInternalException', `The TEE backend ${this.id} failed.`, cause);
    const unknown =
      e.outcomeUnknown && (operation === 'sign' || operation === 'generateKey' || operation === 'deleteKey')
        ? ` The ${operation} may have completed in the TEE; it was not retried.`
        : '';
    switch (e.kind) {
      case 'overload':
        return new KmsError('ThrottlingException', `The TEE backend ${this.id} has too many requests in progress; retry with backoff.`, cause);
      case 'timeout':
        return new KmsError('DependencyTimeoutException', `The TEE backend ${this.id} did not answer in time.${unknown}`, cause);
      case 'unavailable':
      case 'protocol':
        return new KmsError('KeyUnavailableException', `The TEE backend ${this.id} cannot be reached; retry later.${unknown}`, cause);
      case 'remote':
        break;
    }
    const remote = e.remote!;
    switch (remote.code) {
      case 'BUSY':
        return new KmsError('ThrottlingException', `The TEE backend ${this.id} is busy; retry with backoff.`, cause);
      case 'DEADLINE_EXCEEDED':
        return new KmsError('DependencyTimeoutException', `The TEE backend ${this.id} did not answer in time.${unknown}`, cause);
      case 'TEE_ERROR':
        break;
      default:
        // BAD_REQUEST, UNKNOWN_COMMAND, HANDSHAKE_REQUIRED, INTERNAL…: a bridge that does not
        // speak our protocol, or a bug on either side.
        return new KmsError('KMSInternalException', `The TEE backend ${this.id} failed (${remote.code}).`, cause);
    }
    const teec = parseTeecHex(remote.teec!);
    switch (teec) {
      case TEEC_RESULT.TEEC_ERROR_BUSY:
        return new KmsError('ThrottlingException', `The TEE backend ${this.id} is busy; retry with backoff.`, cause);
      case TEEC_RESULT.TEEC_ERROR_ITEM_NOT_FOUND:
        return new KmsError('KeyUnavailableException', `The key material is missing from backend ${this.id}.`, cause);
      case TEEC_RESULT.TEEC_ERROR_STORAGE_NO_SPACE:
      case TEEC_RESULT.TEEC_ERROR_OUT_OF_MEMORY:
        if (operation === 'generateKey') return new KmsError('LimitExceededException', `The TEE backend ${this.id} has no room for another key.`, cause);
        break;
      case TEEC_RESULT.TEEC_ERROR_NOT_SUPPORTED:
        // The TA lacks this key type although the hello listed it (a daemon restarted with another TA).
        if (operation === 'generateKey')
          return new KmsError('UnsupportedOperationException', `The TEE backend ${this.id} cannot generate keys of this key spec.`, cause);
        break;
      case TEEC_RESULT.TEEC_ERROR_SECURITY:
        return new KmsError(
          'KeyUnavailableException',
          `The TEE backend ${this.id} refuses its sealed key storage (rollback or tampering detected); see the bridge log.`,
          cause,
        );
      case TEEC_RESULT.TEEC_ERROR_TARGET_DEAD:
      case TEEC_RESULT.TEEC_ERROR_COMMUNICATION:
      case TEEC_RESULT.TEEC_ERROR_STORAGE_NOT_AVAILABLE:
        return new KmsError('KeyUnavailableException', `The TEE backend ${this.id} lost its trusted-application session; retry later.${unknown}`, cause);
      default:
        break;
    }
    return new KmsError('KMSInternalException', `The TEE backend ${this.id} failed (${remote.teec}).`, cause);
  }
}

function checkHandle(handle: string): void {
  if (typeof handle !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(handle))
    throw new KmsError('KMSInternalException', 'The key handle is not a TEE key handle.');
}

function helloDetail(hello: HelloInfo): Record<string, string | number | boolean> {
  return { mode: hello.mode, protocolVersion: hello.protocolVersion, taUuid: hello.taUuid, buildHash: hello.buildHash };
}

function errorDetail(e: unknown): string {
  if (e instanceof TeeBridgeError) {
    if (e.kind === 'remote') return e.remote!.teec ? `${e.remote!.code} ${e.remote!.teec}` : e.remote!.code;
    return `bridge ${e.kind}`;
  }
  return 'error';
}
