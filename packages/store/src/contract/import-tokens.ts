import type { MethodKinds } from './repository';

export type ImportTokenState = 'open' | 'used' | 'superseded';

export interface ImportTokenRecord {
  tokenHash: Uint8Array;
  keyId: string;
  backendId: string;
  wrappingHandle: string;
  wrappingKeySpec: string;
  wrappingAlgorithm: string;
  /** The wrapping key's DER SPKI. */
  publicKey: Uint8Array;
  createdAt: Date;
  validTo: Date;
  state: ImportTokenState;
  wrappingDeleted: boolean;
}

/** The key material an ImportKeyMaterial gives its PendingImport key. */
export interface ImportedMaterial {
  keyId: string;
  handle: string;
  publicKey: Uint8Array;
}

/**
 * GetParametersForImport's tokens. A token is used once; a newer one for the same key supersedes
 * it; used, superseded and expired tokens have their wrapping keys deleted from the backend.
 */
export interface ImportTokenRepository {
  /** Records a new token; the key's earlier open tokens are superseded atomically with it. */
  issue(t: Omit<ImportTokenRecord, 'state' | 'wrappingDeleted'>): Promise<void>;
  find(tokenHash: Uint8Array): Promise<ImportTokenRecord | undefined>;
  /**
   * Ends the token; with `material`, also enables its PendingImport key with that material,
   * atomically. Changes nothing unless it answers 'done': 'token' when the token is no longer open
   * and valid at `now`, 'key' when the key no longer waits for key material.
   */
  use(tokenHash: Uint8Array, now: Date, material?: ImportedMaterial): Promise<'done' | 'token' | 'key'>;
  /** Tokens whose wrapping key should leave the backend: used, superseded or expired at `now`, not deleted yet. */
  forCleanup(now: Date): Promise<ImportTokenRecord[]>;
  /** The token's wrapping key is gone from the backend; rows of keys that no longer exist are dropped. */
  wrappingDeleted(tokenHash: Uint8Array): Promise<void>;
}

export const IMPORT_TOKEN_REPOSITORY: MethodKinds<ImportTokenRepository> = {
  issue: 'async',
  find: 'async',
  use: 'async',
  forCleanup: 'async',
  wrappingDeleted: 'async',
};
