import { timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ApiKeyScope } from '@kmsgate/policy';
import { ApiKeyRules, TouchThrottle, apiKeyRecordOf, checkDate, checkId, principalOf, type ApiKeyRecordRow } from './api-key-rules';
import type { ApiKeyRecord, ApiKeyRepository, GeneratedApiKey, NewApiKey, Principal, ScopeChange, SigV4Credential } from './contract/api-keys';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';
import { ReadCache, type CachedRead } from './read-cache';

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

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
 * very next request. What every store does alike is in api-key-rules.ts.
 */
export class ApiKeyStore implements Synchronous<ApiKeyRepository> {
  readonly #rules: ApiKeyRules;
  readonly #touches = new TouchThrottle();
  readonly #insert: Statement;
  readonly #all: Statement<[], ApiKeyRecordRow>;
  readonly #byId: Statement<[string], ApiKeyRecordRow>;
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
    this.#rules = new ApiKeyRules(sealKey, now);
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
    const { row, generated } = this.#rules.newKey(input);
    this.#db.transaction(() => {
      this.#insert.run(row.id, row.label, row.role, row.apiKeyHash, row.accessKeyId, Buffer.from(row.sealedSecret), row.createdAt, row.expiresAt);
      if (row.scope !== undefined) {
        this.#setScoped.run(1, row.id);
        for (const selector of row.scope) this.#addScope.run(row.id, selector);
      }
    })();
    return generated;
  }

  list(): ApiKeyRecord[] {
    return this.#all.all().map(apiKeyRecordOf);
  }

  get(id: string): ApiKeyRecord | undefined {
    checkId(id);
    const row = this.#byId.get(id);
    return row === undefined ? undefined : apiKeyRecordOf(row);
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
    const { add, remove, allKeys } = this.#rules.scopeChange(id, change);
    this.#rules.checkScopable(id, this.get(id));
    this.#db.transaction(() => {
      if (allKeys) {
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
    // Anything not shaped like a key we issue cannot match; skip the hash and the query.
    const hash = this.#rules.lookupHash(apiKey);
    if (hash === undefined) return undefined;
    // Keyed by the hash, never the key: which entry a lookup lands on says nothing about any secret.
    const found = this.#cached.byHash.get(hash.toString('base64'), () => {
      const row = this.#byHash.get(hash);
      // The index lookup already matched; the constant-time compare keeps the check explicit
      // should the lookup ever become a prefix or collation match.
      if (row === undefined || row.api_key_hash.length !== hash.length || !timingSafeEqual(row.api_key_hash, hash)) {
        return undefined;
      }
      return { value: principalOf(row.id, row.label, row.role), expiresAt: row.expires_at };
    });
    // The cache holds the expiry, not a verdict: a key cached while valid is refused from its expiry on.
    return found === undefined || this.#rules.expired(found.expiresAt) ? undefined : found.value;
  }

  findSigV4Secret(accessKeyId: string): SigV4Credential | undefined {
    if (!this.#rules.accessKeyIdShaped(accessKeyId)) return undefined;
    const row = this.#byAccessKeyId.get(accessKeyId);
    if (row === undefined || this.#rules.expired(row.expires_at)) return undefined;
    return this.#rules.sigV4Credential(principalOf(row.id, row.label, row.role), accessKeyId, row.sealed_secret);
  }

  /** Records that the key was used (at most once a minute per key and process: TouchThrottle); whether it wrote. */
  touch(id: string, now: Date): boolean {
    checkId(id);
    checkDate(now, 'now');
    const t = now.getTime();
    if (!this.#touches.due(id, t)) return false;
    return this.#touch.run(t, id, t - TouchThrottle.INTERVAL_MS).changes > 0;
  }
}
