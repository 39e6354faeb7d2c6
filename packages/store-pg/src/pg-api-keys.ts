/**
 * API keys on PostgreSQL (ApiKeyRepository in @kmsgate/store): the same rows as on SQLite (the
 * x-api-key as its SHA-256, the SigV4 secret sealed under the data dir's credential.key, which
 * every gateway on the database must share). What authentication reads on every request is a
 * view of memory (feed-view.ts) holding only what the lookups need: the principal and expiry of
 * every unrevoked key by hash and by access key id, its sealed secret, and every key's scope.
 * Expiry is compared with the clock on every lookup, never cached as a verdict.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyScope } from '@kmsgate/policy';
import {
  ApiKeyRules,
  TouchThrottle,
  apiKeyRecordOf,
  checkDate,
  checkId,
  principalOf,
  type ApiKeyRecord,
  type ApiKeyRepository,
  type GeneratedApiKey,
  type NewApiKey,
  type Principal,
  type ScopeChange,
  type SigV4Credential,
} from '@kmsgate/store';
import type { Pool } from 'pg';
import type { ChangeFeed } from './change-feed';
import { guarded, inTransaction } from './faults';
import { FeedView, groupValues } from './feed-view';

interface Live {
  principal: Principal;
  hash: Buffer;
  sealed: Buffer;
  expiresAt: number | null;
}

interface ApiKeysView {
  byHash: ReadonlyMap<string, Live>;
  byAccessKeyId: ReadonlyMap<string, Live>;
  scopes: ReadonlyMap<string, ApiKeyScope>;
}

interface RecordRow {
  id: string;
  label: string;
  role: string;
  access_key_id: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  expires_at: string | null;
}

const NO_SELECTORS: readonly string[] = Object.freeze([]);

const RECORD_COLUMNS = 'id, label, role, access_key_id, created_at, revoked_at, last_used_at, expires_at';

const epoch = (v: string | null): number | null => (v === null ? null : Number(v));

function toRecord(r: RecordRow): ApiKeyRecord {
  return apiKeyRecordOf({
    ...r,
    created_at: Number(r.created_at),
    revoked_at: epoch(r.revoked_at),
    last_used_at: epoch(r.last_used_at),
    expires_at: epoch(r.expires_at),
  });
}

export class PgApiKeyRepository implements ApiKeyRepository {
  readonly #pool: Pool;
  readonly #feed: ChangeFeed;
  readonly #rules: ApiKeyRules;
  readonly #touches = new TouchThrottle();
  readonly #view: FeedView<ApiKeysView>;

  /** `sealKey` and `now` as for the SQLite store (ApiKeyStore). */
  constructor(pool: Pool, feed: ChangeFeed, sealKey?: Uint8Array, { now = () => new Date() }: { now?: () => Date } = {}) {
    this.#pool = pool;
    this.#feed = feed;
    this.#rules = new ApiKeyRules(sealKey, now);
    this.#view = new FeedView(feed, 'API keys', () => this.#load());
  }

  async #load(): Promise<ApiKeysView> {
    const [keys, scopes] = await guarded('load API keys', () =>
      Promise.all([
        this.#pool.query<{
          id: string;
          label: string;
          role: string;
          api_key_hash: Buffer;
          access_key_id: string;
          sealed_secret: Buffer;
          revoked_at: string | null;
          expires_at: string | null;
          scoped: boolean;
        }>('SELECT id, label, role, api_key_hash, access_key_id, sealed_secret, revoked_at, expires_at, scoped FROM api_keys'),
        this.#pool.query<{ api_key_id: string; selector: string }>('SELECT api_key_id, selector FROM api_key_scopes ORDER BY api_key_id, selector'),
      ]),
    );
    const selectors = groupValues(scopes.rows.map((s) => [s.api_key_id, s.selector]));
    const byHash = new Map<string, Live>();
    const byAccessKeyId = new Map<string, Live>();
    const scopeOf = new Map<string, ApiKeyScope>();
    for (const r of keys.rows) {
      scopeOf.set(r.id, Object.freeze({ restricted: r.scoped, selectors: r.scoped ? (selectors.get(r.id) ?? NO_SELECTORS) : NO_SELECTORS }));
      if (r.revoked_at !== null) continue;
      const live: Live = { principal: principalOf(r.id, r.label, r.role), hash: r.api_key_hash, sealed: r.sealed_secret, expiresAt: epoch(r.expires_at) };
      byHash.set(r.api_key_hash.toString('base64'), live);
      byAccessKeyId.set(r.access_key_id, live);
    }
    return { byHash, byAccessKeyId, scopes: scopeOf };
  }

  async #write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const out = await guarded(what, fn);
    await this.#feed.read();
    return out;
  }

  #unexpired(live: Live | undefined): Live | undefined {
    return live === undefined || this.#rules.expired(live.expiresAt) ? undefined : live;
  }

  findByApiKey(apiKey: string): Principal | undefined {
    const hash = this.#rules.lookupHash(apiKey);
    if (hash === undefined) return undefined;
    const live = this.#unexpired(this.#view.current().byHash.get(hash.toString('base64')));
    // The map matched the exact hash; the constant-time compare keeps the check explicit.
    return live !== undefined && timingSafeEqual(live.hash, hash) ? live.principal : undefined;
  }

  findSigV4Secret(accessKeyId: string): SigV4Credential | undefined {
    if (!this.#rules.accessKeyIdShaped(accessKeyId)) return undefined;
    const live = this.#unexpired(this.#view.current().byAccessKeyId.get(accessKeyId));
    return live === undefined ? undefined : this.#rules.sigV4Credential(live.principal, accessKeyId, live.sealed);
  }

  scopeOf(id: string): ApiKeyScope | undefined {
    checkId(id);
    return this.#view.current().scopes.get(id);
  }

  async generate(input: NewApiKey): Promise<GeneratedApiKey> {
    const { row, generated } = this.#rules.newKey(input);
    await this.#write('generate API key', () =>
      inTransaction(this.#pool, async (c) => {
        await c.query(
          `INSERT INTO api_keys (id, label, role, api_key_hash, access_key_id, sealed_secret, created_at, expires_at, scoped)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [row.id, row.label, row.role, row.apiKeyHash, row.accessKeyId, Buffer.from(row.sealedSecret), row.createdAt, row.expiresAt, row.scope !== undefined],
        );
        for (const selector of row.scope ?? []) await c.query('INSERT INTO api_key_scopes (api_key_id, selector) VALUES ($1, $2)', [row.id, selector]);
      }),
    );
    return generated;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await guarded('list API keys', () => this.#pool.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM api_keys ORDER BY created_at, id`));
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    checkId(id);
    const { rows } = await guarded('get API key', () => this.#pool.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM api_keys WHERE id = $1`, [id]));
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async revoke(id: string, now: Date = new Date()): Promise<boolean> {
    checkId(id);
    checkDate(now, 'now');
    await this.#write('revoke API key', () =>
      this.#pool.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now.getTime(), id]),
    );
    return (await this.get(id))?.revokedAt != null;
  }

  async updateScope(id: string, change: ScopeChange): Promise<ApiKeyScope> {
    const { add, remove, allKeys } = this.#rules.scopeChange(id, change);
    const record = await this.get(id);
    this.#rules.checkScopable(id, record);
    await this.#write('update API key scope', () =>
      inTransaction(this.#pool, async (c) => {
        if (allKeys) {
          await c.query('DELETE FROM api_key_scopes WHERE api_key_id = $1', [id]);
          await c.query('UPDATE api_keys SET scoped = FALSE WHERE id = $1', [id]);
          return;
        }
        await c.query('UPDATE api_keys SET scoped = TRUE WHERE id = $1', [id]);
        for (const selector of add) await c.query('INSERT INTO api_key_scopes (api_key_id, selector) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, selector]);
        if (remove.length > 0) await c.query('DELETE FROM api_key_scopes WHERE api_key_id = $1 AND selector = ANY($2::text[])', [id, remove]);
      }),
    );
    return this.scopeOf(id)!;
  }

  async touch(id: string, now: Date): Promise<boolean> {
    checkId(id);
    checkDate(now, 'now');
    const t = now.getTime();
    if (!this.#touches.due(id, t)) return false;
    const { rowCount } = await guarded('touch API key', () =>
      this.#pool.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)', [
        t,
        id,
        t - TouchThrottle.INTERVAL_MS,
      ]),
    );
    return rowCount === 1;
  }
}
