import type { KeyState, KeyUsageValue, OriginValue } from './enums';
import type { SupportedKeySpec } from './key-specs';

/** A KMS key as kmsgate stores it. The private key stays in the backend, named by `handle`. */
export interface KeyRecord {
  keyId: string;
  createdAt: Date;
  description: string;
  keyUsage: KeyUsageValue;
  keySpec: SupportedKeySpec;
  keyState: KeyState;
  origin: OriginValue;
  backendId: string;
  /** '' while the key has no key material (Origin EXTERNAL before ImportKeyMaterial): see hasKeyMaterial. */
  handle: string;
  /** DER SPKI; public, so kept here and Verify/GetPublicKey need no device call. Empty for a symmetric key, and without key material. */
  publicKey: Uint8Array;
  deletionDate?: Date;
  policy?: string;
}

/** What key resolution needs from storage; the store package implements it. */
export interface KeyLookup {
  getKey(keyId: string): KeyRecord | undefined;
  getAliasTarget(aliasName: string): string | undefined;
}

/** False for a key created with Origin EXTERNAL whose key material has not been imported: it has no backend object. */
export function hasKeyMaterial(key: Pick<KeyRecord, 'handle'>): boolean {
  return key.handle !== '';
}
