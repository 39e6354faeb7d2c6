/**
 * A YubiHSM 2 backend that holds two credentials, as `kmsgate hsm setup` lays a device out: the
 * runtime key for everything a request does with a key (sign, seal and unseal, RSA decryption, public key, random, health), and
 * the key admin for creating, importing and destroying keys, which the runtime key cannot
 * (packages/yubihsm/src/ceremony/layout.ts). Both talk to the same device(s); each is a complete
 * YubiHsmBackend with its own sessions.
 */
import type { BackendDescription, GeneratedKey, KeyBackend, KeyImporter, SupportedKeySpec, SupportedSigningAlgorithm } from '@kmsgate/core';
import type { YubiHsmBackend } from './backend';

export class KeyAdminBackend implements KeyBackend {
  readonly id: string;
  readonly kind = 'yubihsm' as const;
  readonly keySpecs: readonly SupportedKeySpec[];
  readonly signingAlgorithms: readonly SupportedSigningAlgorithm[];
  /** Import makes and deletes device objects (the wrapping key, the imported key): the key admin's work. */
  readonly importer: KeyImporter;

  constructor(
    readonly runtime: YubiHsmBackend,
    readonly keyAdmin: YubiHsmBackend,
  ) {
    if (runtime.id !== keyAdmin.id) throw new RangeError('runtime and keyAdmin must be the same backend (same id)');
    this.id = runtime.id;
    this.keySpecs = runtime.keySpecs;
    this.signingAlgorithms = runtime.signingAlgorithms;
    this.importer = keyAdmin.importer;
  }

  /** The runtime key's view: the credentials requests depend on. */
  describe(): Promise<BackendDescription> {
    return this.runtime.describe();
  }

  generateKey(...args: Parameters<KeyBackend['generateKey']>): Promise<GeneratedKey> {
    return this.keyAdmin.generateKey(...args);
  }

  deleteKey(...args: Parameters<KeyBackend['deleteKey']>): Promise<void> {
    return this.keyAdmin.deleteKey(...args);
  }

  getPublicKey(...args: Parameters<KeyBackend['getPublicKey']>): Promise<Uint8Array> {
    return this.runtime.getPublicKey(...args);
  }

  sign(...args: Parameters<KeyBackend['sign']>): Promise<Uint8Array> {
    return this.runtime.sign(...args);
  }

  random(length: number): Promise<Uint8Array> {
    return this.runtime.random(length);
  }

  seal(handle: string, payload: Uint8Array): Promise<Uint8Array> {
    return this.runtime.seal(handle, payload);
  }

  unseal(handle: string, sealed: Uint8Array): Promise<Uint8Array> {
    return this.runtime.unseal(handle, sealed);
  }

  deriveSharedSecret(...args: Parameters<YubiHsmBackend['deriveSharedSecret']>): Promise<Uint8Array> {
    return this.runtime.deriveSharedSecret(...args);
  }

  decryptOaep(...args: Parameters<YubiHsmBackend['decryptOaep']>): Promise<Uint8Array> {
    return this.runtime.decryptOaep(...args);
  }

  generateMac(...args: Parameters<YubiHsmBackend['generateMac']>): Promise<Uint8Array> {
    return this.runtime.generateMac(...args);
  }

  verifyMac(...args: Parameters<YubiHsmBackend['verifyMac']>): Promise<boolean> {
    return this.runtime.verifyMac(...args);
  }

  async close(): Promise<void> {
    await Promise.all([this.runtime.close(), this.keyAdmin.close()]);
  }
}
