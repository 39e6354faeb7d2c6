import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { KEY_SELECTOR, KEY_SELECTOR_MESSAGE, type ApiKeyScope } from '@kmsgate/policy';
import {
  API_KEY_ROLES,
  type ApiKeyRecord,
  type ApiKeyRepository,
  type ApiKeyRole,
  type GeneratedApiKey,
  type NewApiKey,
  type Principal,
  type ScopeChange,
  type SigV4Credential,
} from './contract/api-keys';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';
import { sealCredential, unsealCredential, SEAL_KEY_BYTES } from './credential-seal';
import { ReadCache, type CachedRead } from './read-cache';

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
/** last_used_at is a hint for humans, not an audit record; writing it once a minute per key is plenty. */
const TOUCH_INTERVAL_MS = 60_000;
// Control characters in a label would reach terminals (`api-key list`) and error messages.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

interface ApiKeyRow {
  id: string;
  label: string;
  role: string;
  access_key_id: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
}

const RECORD_COLUMNS = 'id, label, role, access_key_id, created_at, revoked_at, last_used_at, expires_at';

/** A found key with its expiry, checked against the clock on every lookup: never cached as a verdict. */
interface Found<T> {
  readonly value: T;
  readonly expiresAt: number | null;
}

/**
 * API keys in the `api_keys` table. The x-api-key value is kept only as its SHA-256 (it has 256
 * bits of entropy, so a fast hash is enough: there is nothing to brute-force); the SigV4 secret is
 * sealed (see credential-seal.ts). A key past its expiry is refused like a revoked one. Lookups by x-api-key and scopes are cached until any API key
 * changes (read-cache.ts), so a revoke made by the CLI in another process still takes effect on the
 * very next request.
 */
export class ApiKeyStore implements Synchronous<ApiKeyRepository> {
  readonly #sealKey: Uint8Array | undefined;
  readonly #lastTouch = new Map<string, number>();
  readonly #insert: Statement;
  readonly #all: Statement<[], ApiKeyRow>;
  readonly #byId: Statement<[string], ApiKeyRow>;
  readonly #revoke: Statement;
  readonly #byHash: Statement<[Buffer], { id: string; label: string; role: string; api_key_hash: Buffer; expires_at: number | null }>;
  readonly #byAccessKeyId: Statement<[string], { id: string; label: string; role: string; sealed_secret: Buffer; expires_at: number | null }>;
  readonly #touch: Statement;
  readonly #scoped: Statement<[string], { scoped: number }>;
  readonly #scopeRows: Statement<[string], { selector: string }>;
  readonly #setScoped: Statement;
  readonly #addScope: Statement;
  readonly #removeScope: Statement;
  readonly #clearScope: Statement;
  readonly #db: Db;
  readonly #now: () => Date;
  /** By the SHA-256 of the x-api-key (known keys only, with their expiry); scopes by API key id. */
  readonly #cached: { byHash: CachedRead<string, Found<Principal> | undefined>; scope: CachedRead<string, ApiKeyScope | undefined> };

  /**
   * `sealKey` may be left out by tools that only list or revoke, so an emergency revoke still works
   * when credential.key is unreadable; `generate` and `findSigV4Secret` then throw. `now` is the
   * clock that creation dates and expiry are read from (the gateway's, injectable in tests).
   */
  constructor(db: Db, sealKey?: Uint8Array, { now = () => new Date() }: { now?: () => Date } = {}) {
    if (db === null || typeof db !== 'object' || typeof (db as { prepare?: unknown }).prepare !== 'function') {
      throw new TypeError('db must be an open better-sqlite3 Database');
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function returning a Date');
    this.#now = now;
    if (sealKey !== undefined) {
      if (!(sealKey instanceof Uint8Array)) throw new TypeError('sealKey must be a Uint8Array');
      if (sealKey.length !== SEAL_KEY_BYTES) {
        throw new RangeError(`sealKey must be ${SEAL_KEY_BYTES} bytes, got ${sealKey.length}`);
      }
      this.#sealKey = Uint8Array.from(sealKey);
    }
    this.#insert = db.prepare(
      `INSERT INTO api_keys (id, label, role, api_key_hash, access_key_id, sealed_secret, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#all = db.prepare(`SELECT ${RECORD_COLUMNS} FROM api_keys ORDER BY created_at, id`);
    this.#byId = db.prepare(`SELECT ${RECORD_COLUMNS} FROM api_keys WHERE id = ?`);
    this.#revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.#byHash = db.prepare('SELECT id, label, role, api_key_hash, expires_at FROM api_keys WHERE api_key_hash = ? AND revoked_at IS NULL');
    this.#byAccessKeyId = db.prepare('SELECT id, label, role, sealed_secret, expires_at FROM api_keys WHERE access_key_id = ? AND revoked_at IS NULL');
    this.#touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)');
    this.#db = db;
    this.#scoped = db.prepare('SELECT scoped FROM api_keys WHERE id = ?');
    this.#scopeRows = db.prepare('SELECT selector FROM api_key_scopes WHERE api_key_id = ? ORDER BY selector');
    this.#setScoped = db.prepare('UPDATE api_keys SET scoped = ? WHERE id = ?');
    this.#addScope = db.prepare('INSERT OR IGNORE INTO api_key_scopes (api_key_id, selector) VALUES (?, ?)');
    this.#removeScope = db.prepare('DELETE FROM api_key_scopes WHERE api_key_id = ? AND selector = ?');
    this.#clearScope = db.prepare('DELETE FROM api_key_scopes WHERE api_key_id = ?');
    const cache = ReadCache.of(db);
    this.#cached = { byHash: cache.read({ keepMisses: false }), scope: cache.read() };
  }

  /**
   * `scope`: the keys (ids or alias names) a signer key may use. Left out, the key may use every
   * key; given (even empty), only those. Admin keys have no scope. `expiresAt`: the instant from
   * which the key is refused (after its creation); left out, it does not expire.
   */
  generate(input: NewApiKey): GeneratedApiKey {
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
    const sealKey = this.#requireSealKey();

    const id = `ak_${randomBytes(8).toString('hex')}`;
    const apiKey = API_KEY_PREFIX + randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
    const accessKeyId = ACCESS_KEY_ID_PREFIX + randomBase32(18);
    const secretBytes = randomBytes(SECRET_RANDOM_BYTES);
    const secretAccessKey = secretBytes.toString('base64');
    const sealed = sealCredential(sealKey, accessKeyId, Buffer.from(secretAccessKey, 'utf8'));
    secretBytes.fill(0);

    this.#db.transaction(() => {
      this.#insert.run(id, label, role, hashApiKey(apiKey), accessKeyId, Buffer.from(sealed), createdAt, expiresAt);
      if (scope !== undefined) {
        this.#setScoped.run(1, id);
        for (const selector of scope) this.#addScope.run(id, selector);
      }
    })();
    return Object.freeze({
      id,
      label,
      role,
      apiKey,
      accessKeyId,
      secretAccessKey,
      createdAt: new Date(createdAt),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
    });
  }

  list(): ApiKeyRecord[] {
    return this.#all.all().map(toRecord);
  }

  get(id: string): ApiKeyRecord | undefined {
    checkId(id);
    const row = this.#byId.get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  /** True if the key exists and is now revoked (a second revoke keeps the first revocation time). */
  revoke(id: string, now: Date = new Date()): boolean {
    checkId(id);
    checkDate(now, 'now');
    this.#revoke.run(now.getTime(), id);
    const row = this.#byId.get(id);
    return row !== undefined && row.revoked_at !== null;
  }

  /**
   * Which keys the API key may use: `restricted: false` for a key that was never given a scope
   * (every key) and for admin keys; otherwise only the listed key ids and alias names (none if
   * the list is empty). Undefined for an unknown id.
   */
  scopeOf(id: string): ApiKeyScope | undefined {
    checkId(id);
    return this.#cached.scope.get(id, () => this.#loadScope(id));
  }

  #loadScope(id: string): ApiKeyScope | undefined {
    const row = this.#scoped.get(id);
    if (row === undefined) return undefined;
    if (row.scoped === 0) return Object.freeze({ restricted: false, selectors: Object.freeze([]) as readonly string[] });
    return Object.freeze({ restricted: true, selectors: Object.freeze(this.#scopeRows.all(id).map((r) => r.selector)) });
  }

  /**
   * Changes a signer key's scope in one transaction: `allKeys` lifts the restriction (every key);
   * `add` and `remove` restrict the key to the listed keys, so removing the last one leaves a key
   * that may use no key (never every key). Returns the new scope; TypeError for an unknown id or
   * an admin key.
   */
  updateScope(id: string, change: ScopeChange): ApiKeyScope {
    checkId(id);
    if (change === null || typeof change !== 'object') throw new TypeError('change must be an object');
    const add = checkSelectors(change.add ?? [], 'add');
    const remove = checkSelectors(change.remove ?? [], 'remove');
    if (change.allKeys && (add.length > 0 || remove.length > 0)) throw new TypeError('allKeys cannot be combined with add or remove');
    const record = this.get(id);
    if (record === undefined) throw new TypeError(`no API key with id '${id}'`);
    if (record.role !== 'signer') throw new TypeError('only signer keys have a scope (an admin key may use every key)');
    this.#db.transaction(() => {
      if (change.allKeys) {
        this.#clearScope.run(id);
        this.#setScoped.run(0, id);
        return;
      }
      this.#setScoped.run(1, id);
      for (const selector of add) this.#addScope.run(id, selector);
      for (const selector of remove) this.#removeScope.run(id, selector);
    })();
    return this.scopeOf(id)!;
  }

  /** The key's principal; undefined for an unknown, revoked or expired key (expiry read from the clock on every call). */
  findByApiKey(apiKey: string): Principal | undefined {
    if (typeof apiKey !== 'string') throw new TypeError('apiKey must be a string');
    // Anything not shaped like a key we issue cannot match; skip the hash and the query.
    if (!API_KEY_PATTERN.test(apiKey)) return undefined;
    const hash = hashApiKey(apiKey);
    // Keyed by the hash, never the key: which entry a lookup lands on says nothing about any secret.
    const found = this.#cached.byHash.get(hash.toString('base64'), () => {
      const row = this.#byHash.get(hash);
      // The index lookup already matched; the constant-time compare keeps the check explicit
      // should the lookup ever become a prefix or collation match.
      if (row === undefined || row.api_key_hash.length !== hash.length || !timingSafeEqual(row.api_key_hash, hash)) {
        return undefined;
      }
      return { value: principal(row.id, row.label, row.role), expiresAt: row.expires_at };
    });
    return this.#unexpired(found);
  }

  /** The cache holds the expiry, not a verdict: a key cached while valid is refused from its expiry on, with no write to the store. */
  #unexpired<T>(found: Found<T> | undefined): T | undefined {
    if (found === undefined) return undefined;
    return found.expiresAt !== null && this.#now().getTime() >= found.expiresAt ? undefined : found.value;
  }

  findSigV4Secret(accessKeyId: string): SigV4Credential | undefined {
    if (typeof accessKeyId !== 'string') throw new TypeError('accessKeyId must be a string');
    if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) return undefined;
    const row = this.#byAccessKeyId.get(accessKeyId);
    if (row === undefined || this.#unexpired({ value: row, expiresAt: row.expires_at }) === undefined) return undefined;
    // Unsealing costs about a microsecond, so there is no cache of plaintext secrets to outlive a revoke.
    const secret = unsealCredential(this.#requireSealKey(), accessKeyId, row.sealed_secret);
    const secretAccessKey = Buffer.from(secret).toString('utf8');
    secret.fill(0);
    return Object.freeze({ principal: principal(row.id, row.label, row.role), secretAccessKey });
  }

  /**
   * Records that the key was used. Writes at most once a minute per key and process (the SQL guard
   * covers several processes), so the hot path is a Map lookup rather than a write lock.
   * Returns whether it wrote.
   */
  touch(id: string, now: Date): boolean {
    checkId(id);
    checkDate(now, 'now');
    const t = now.getTime();
    const last = this.#lastTouch.get(id);
    if (last !== undefined && t - last < TOUCH_INTERVAL_MS) return false;
    this.#lastTouch.set(id, t);
    return this.#touch.run(t, id, t - TOUCH_INTERVAL_MS).changes > 0;
  }

  #requireSealKey(): Uint8Array {
    if (this.#sealKey === undefined) {
      throw new Error('this ApiKeyStore was opened without the credential sealing key');
    }
    return this.#sealKey;
  }
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

function checkId(id: unknown): void {
  if (typeof id !== 'string') throw new TypeError('id must be a string');
  if (id.length === 0 || id.length > 64) throw new RangeError('id must be 1 to 64 characters');
}

function checkDate(d: unknown, field: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError(`${field} must be a valid Date`);
}

function principal(id: string, label: string, role: string): Principal {
  return Object.freeze({ apiKeyId: id, label, role: checkRole(role) });
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
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
