/**
 * What every API key store does the same way, whatever database keeps the rows: the shape of its
 * inputs, how a key and its SigV4 pair are made and the secret sealed, how a lookup's candidate is
 * hashed, expiry against the clock, and the once-a-minute limit on last_used_at writes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { KEY_SELECTOR, KEY_SELECTOR_MESSAGE } from '@kmsgate/policy';
import {
  API_KEY_ROLES,
  type ApiKeyRecord,
  type ApiKeyRole,
  type GeneratedApiKey,
  type NewApiKey,
  type Principal,
  type ScopeChange,
  type SigV4Credential,
} from './contract/api-keys';
import { sealCredential, unsealCredential, SEAL_KEY_BYTES } from './credential-seal';

export const LABEL_MAX_LENGTH = 128;
/** Prefix that makes a leaked key recognisable to secret scanners and to people. */
export const API_KEY_PREFIX = 'kmsgate_';
/** 32 random bytes (256 bits), base64url without padding = 43 characters. */
const API_KEY_RANDOM_BYTES = 32;
const API_KEY_PATTERN = /^kmsgate_[A-Za-z0-9_-]{43}$/;
/**
 * Shaped like AWS access key ids (20 characters, `AKIA…`; IAM `AccessKey.AccessKeyId`) so clients
 * that validate the shape accept it: `KG` + 18 characters of the RFC 4648 base32 alphabet (90 bits).
 */
export const ACCESS_KEY_ID_PREFIX = 'KG';
const ACCESS_KEY_ID_PATTERN = /^KG[A-Z2-7]{18}$/;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 30 random bytes encode to exactly 40 base64 characters, the length of an AWS secret access key. */
const SECRET_RANDOM_BYTES = 30;
// Control characters in a label would reach terminals (`api-key list`) and error messages.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** A new key's row as every store inserts it (times in epoch milliseconds); `scope` undefined: every key. */
export interface NewApiKeyRow {
  readonly id: string;
  readonly label: string;
  readonly role: ApiKeyRole;
  readonly apiKeyHash: Buffer;
  readonly accessKeyId: string;
  readonly sealedSecret: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly scope: readonly string[] | undefined;
}

/** An `api_keys` row as listed (times in epoch milliseconds). */
export interface ApiKeyRecordRow {
  id: string;
  label: string;
  role: string;
  access_key_id: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
}

export class ApiKeyRules {
  readonly #sealKey: Uint8Array | undefined;
  readonly #now: () => Date;

  /**
   * `sealKey` may be left out by tools that only list or revoke, so an emergency revoke still works
   * when credential.key is unreadable; making a key and SigV4 lookups then throw. `now` is the
   * clock creation dates and expiry are read from (the gateway's, injectable in tests).
   */
  constructor(sealKey: Uint8Array | undefined, now: () => Date) {
    if (typeof now !== 'function') throw new TypeError('now must be a function returning a Date');
    this.#now = now;
    if (sealKey !== undefined) {
      if (!(sealKey instanceof Uint8Array)) throw new TypeError('sealKey must be a Uint8Array');
      if (sealKey.length !== SEAL_KEY_BYTES) throw new RangeError(`sealKey must be ${SEAL_KEY_BYTES} bytes, got ${sealKey.length}`);
      this.#sealKey = Uint8Array.from(sealKey);
    }
  }

  /**
   * A new key from checked input: `scope` (key ids or alias names) only for signer keys, left out
   * for every key; `expiresAt` after the key's creation, left out for never. The row to insert, and
   * what the caller hands back once.
   */
  newKey(input: NewApiKey): { row: NewApiKeyRow; generated: GeneratedApiKey } {
    if (input === null || typeof input !== 'object') throw new TypeError('input must be an object');
    const label = checkLabel(input.label);
    const role = checkRole(input.role);
    const scope = input.scope === undefined ? undefined : checkSelectors(input.scope, 'scope');
    if (scope !== undefined && role !== 'signer') throw new TypeError('only signer keys have a scope (an admin key may use every key)');
    const createdAt = this.#now().getTime();
    let expiresAt: number | null = null;
    if (input.expiresAt !== undefined) {
      checkDate(input.expiresAt, 'expiresAt');
      expiresAt = input.expiresAt.getTime();
      if (expiresAt <= createdAt) throw new RangeError(`expiresAt must be after the key's creation (${new Date(createdAt).toISOString()})`);
    }
    const sealKey = this.sealKey();

    const id = `ak_${randomBytes(8).toString('hex')}`;
    const apiKey = API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
    const accessKeyId = ACCESS_KEY_ID_PREFIX + randomBase32(18);
    const secretBytes = randomBytes(SECRET_RANDOM_BYTES);
    const secretAccessKey = secretBytes.toString('base64');
    const sealedSecret = sealCredential(sealKey, accessKeyId, Buffer.from(secretAccessKey, 'utf8'));
    secretBytes.fill(0);
    return {
      row: { id, label, role, apiKeyHash: hashApiKey(apiKey), accessKeyId, sealedSecret, createdAt, expiresAt, scope },
      generated: Object.freeze({
        id,
        label,
        role,
        apiKey,
        accessKeyId,
        secretAccessKey,
        createdAt: new Date(createdAt),
        expiresAt: expiresAt === null ? null : new Date(expiresAt),
      }),
    };
  }

  /** The SHA-256 an x-api-key is looked up by; undefined for anything not shaped like a key we issue (no lookup needed). */
  lookupHash(apiKey: string): Buffer | undefined {
    if (typeof apiKey !== 'string') throw new TypeError('apiKey must be a string');
    return API_KEY_PATTERN.test(apiKey) ? hashApiKey(apiKey) : undefined;
  }

  /** False for anything not shaped like an access key id we issue (no lookup needed). */
  accessKeyIdShaped(accessKeyId: string): boolean {
    if (typeof accessKeyId !== 'string') throw new TypeError('accessKeyId must be a string');
    return ACCESS_KEY_ID_PATTERN.test(accessKeyId);
  }

  /** Whether a key with this expiry is refused now (read from the clock on every call). */
  expired(expiresAt: number | null): boolean {
    return expiresAt !== null && this.#now().getTime() >= expiresAt;
  }

  /** A found key's SigV4 credential. Unsealing costs about a microsecond, so no plaintext secret is cached to outlive a revoke. */
  sigV4Credential(principal: Principal, accessKeyId: string, sealed: Uint8Array): SigV4Credential {
    const secret = unsealCredential(this.sealKey(), accessKeyId, sealed);
    const secretAccessKey = Buffer.from(secret).toString('utf8');
    secret.fill(0);
    return Object.freeze({ principal, secretAccessKey });
  }

  /** A scope change, checked: `allKeys` is not combined with a list. */
  scopeChange(id: string, change: ScopeChange): { add: string[]; remove: string[]; allKeys: boolean } {
    checkId(id);
    if (change === null || typeof change !== 'object') throw new TypeError('change must be an object');
    const add = checkSelectors(change.add ?? [], 'add');
    const remove = checkSelectors(change.remove ?? [], 'remove');
    if (change.allKeys && (add.length > 0 || remove.length > 0)) throw new TypeError('allKeys cannot be combined with add or remove');
    return { add, remove, allKeys: change.allKeys === true };
  }

  /** Only an existing signer key has a scope to change. */
  checkScopable(id: string, record: ApiKeyRecord | undefined): void {
    if (record === undefined) throw new TypeError(`no API key with id '${id}'`);
    if (record.role !== 'signer') throw new TypeError('only signer keys have a scope (an admin key may use every key)');
  }

  sealKey(): Uint8Array {
    if (this.#sealKey === undefined) throw new Error('this API key store was opened without the credential sealing key');
    return this.#sealKey;
  }
}

/**
 * last_used_at is a hint for humans, not an audit record: written at most once a minute per key and
 * process (the store's SQL guard covers several processes), so the hot path is a Map lookup rather
 * than a write.
 */
export class TouchThrottle {
  static readonly INTERVAL_MS = 60_000;
  readonly #last = new Map<string, number>();

  /** Whether a use at `t` should be written; notes it if so. */
  due(id: string, t: number): boolean {
    const last = this.#last.get(id);
    if (last !== undefined && t - last < TouchThrottle.INTERVAL_MS) return false;
    this.#last.set(id, t);
    return true;
  }
}

export function checkId(id: unknown): void {
  if (typeof id !== 'string') throw new TypeError('id must be a string');
  if (id.length === 0 || id.length > 64) throw new RangeError('id must be 1 to 64 characters');
}

export function checkDate(d: unknown, field: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError(`${field} must be a valid Date`);
}

export function principalOf(id: string, label: string, role: string): Principal {
  return Object.freeze({ apiKeyId: id, label, role: checkRole(role) });
}

export function apiKeyRecordOf(row: ApiKeyRecordRow): ApiKeyRecord {
  return Object.freeze({
    id: row.id,
    label: row.label,
    role: checkRole(row.role),
    accessKeyId: row.access_key_id,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  });
}

function hashApiKey(apiKey: string): Buffer {
  return createHash('sha256').update(apiKey, 'utf8').digest();
}

function randomBase32(n: number): string {
  // 256 is a multiple of 32, so taking the low five bits of each byte is unbiased.
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += BASE32_ALPHABET[b & 31];
  return s;
}

function checkLabel(label: unknown): string {
  if (typeof label !== 'string') throw new TypeError('label must be a string');
  if (label.length < 1 || label.length > LABEL_MAX_LENGTH) {
    throw new RangeError(`label must be 1 to ${LABEL_MAX_LENGTH} characters, got ${label.length}`);
  }
  if (CONTROL_CHARS.test(label)) throw new RangeError('label must not contain control characters');
  return label;
}

function checkRole(role: unknown): ApiKeyRole {
  if (typeof role !== 'string' || !(API_KEY_ROLES as readonly string[]).includes(role)) {
    throw new TypeError(`role must be one of ${API_KEY_ROLES.join(', ')}`);
  }
  return role as ApiKeyRole;
}

function checkSelectors(list: unknown, field: string): string[] {
  if (!Array.isArray(list)) throw new TypeError(`${field} must be an array of key ids and alias names`);
  for (const s of list) {
    if (typeof s !== 'string' || !KEY_SELECTOR.test(s)) throw new TypeError(`${field}: ${JSON.stringify(s)} ${KEY_SELECTOR_MESSAGE}`);
  }
  return [...new Set(list as string[])];
}
