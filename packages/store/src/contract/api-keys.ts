import type { ApiKeyScope } from '@kmsgate/policy';
import type { MethodKinds } from './repository';

export type { ApiKeyScope } from '@kmsgate/policy';

export const API_KEY_ROLES = ['admin', 'signer'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Who a request runs as, once the auth gate has accepted it. */
export interface Principal {
  readonly apiKeyId: string;
  readonly label: string;
  readonly role: ApiKeyRole;
}

/** An API key as listed: never any secret. Dates are `null` when the event has not happened. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly label: string;
  readonly role: ApiKeyRole;
  readonly accessKeyId: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  /** From this instant on the key is refused, as if unknown; null: it does not expire. */
  readonly expiresAt: Date | null;
}

/** What `generate` hands back exactly once; `apiKey` and `secretAccessKey` are not recoverable later. */
export interface GeneratedApiKey {
  readonly id: string;
  readonly label: string;
  readonly role: ApiKeyRole;
  readonly apiKey: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
}

export interface SigV4Credential {
  readonly principal: Principal;
  readonly secretAccessKey: string;
}

/** What a new key is: `scope` only for signer keys (left out: every key); `expiresAt` after its creation. */
export interface NewApiKey {
  label: string;
  role: ApiKeyRole;
  scope?: readonly string[];
  expiresAt?: Date;
}

/** A change of a signer key's scope: `allKeys` lifts the restriction; `add`/`remove` restrict it to a list. */
export interface ScopeChange {
  add?: readonly string[];
  remove?: readonly string[];
  allKeys?: boolean;
}

/**
 * API keys: the x-api-key value is kept only as its SHA-256, the SigV4 secret sealed under the
 * data dir's credential.key. A revoked or expired key is refused as if unknown; expiry is read from
 * the clock on every lookup, never cached as a verdict.
 */
export interface ApiKeyRepository {
  /** The key's principal; undefined for an unknown, revoked or expired key. */
  findByApiKey(apiKey: string): Principal | undefined;
  findSigV4Secret(accessKeyId: string): SigV4Credential | undefined;
  /** Which keys the API key may use; undefined for an unknown id. */
  scopeOf(id: string): ApiKeyScope | undefined;

  generate(input: NewApiKey): Promise<GeneratedApiKey>;
  list(): Promise<ApiKeyRecord[]>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** True if the key exists and is now revoked (a second revoke keeps the first revocation time). */
  revoke(id: string, now?: Date): Promise<boolean>;
  /** Changes a signer key's scope atomically and returns the new one; TypeError for an unknown id or an admin key. */
  updateScope(id: string, change: ScopeChange): Promise<ApiKeyScope>;
  /** Records that the key was used (a hint for humans, written at most once a minute per key); whether it wrote. */
  touch(id: string, now: Date): Promise<boolean>;
}

export const API_KEY_REPOSITORY: MethodKinds<ApiKeyRepository> = {
  findByApiKey: 'view',
  findSigV4Secret: 'view',
  scopeOf: 'view',
  generate: 'async',
  list: 'async',
  get: 'async',
  revoke: 'async',
  updateScope: 'async',
  touch: 'async',
};
