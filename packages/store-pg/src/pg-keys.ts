/**
 * Key metadata, aliases, tags and the custom key stores served, on PostgreSQL (KeyRepository in
 * @kmsgate/store). Keys and aliases are read on every request, so they are a view of memory
 * (feed-view.ts) loaded whole; tags, listings and sweeps are queries. A key whose deletion date has
 * passed no longer exists for any read, as on SQLite (packages/store/src/keys.ts). Writes that
 * check before they change (aliases, tags) lock the key's row first, so two gateways cannot both
 * pass a per-key limit.
 */
import type { KeyRecord, KeyState } from '@kmsgate/core';
import {
  keyRecordOf,
  type AdoptedKey,
  type AliasRecord,
  type AliasWriteResult,
  type KeyRepository,
  type KeyRow,
  type KnownKeyMaterials,
  type Tag,
} from '@kmsgate/store';
import type { Pool, PoolClient } from 'pg';
import type { ChangeFeed } from './change-feed';
import { guarded, inTransaction } from './faults';
import { FeedView, groupValues } from './feed-view';
import { SET_SCHEDULE, insertMaterials } from './pg-key-rotations';

/** A `keys` row as node-postgres returns it: BIGINT columns as strings. */
type PgKeyRow = Omit<KeyRow, 'created_at' | 'deletion_date'> & { created_at: string; deletion_date: string | null };

interface KeysView {
  keys: ReadonlyMap<string, KeyRecord>;
  aliases: ReadonlyMap<string, string>;
  aliasNames: ReadonlyMap<string, readonly string[]>;
}

const NONE: readonly string[] = Object.freeze([]);

/** A key past its deletion date; `$1` is the current time in epoch milliseconds. */
const DUE = `(key_state = 'PendingDeletion' AND deletion_date <= $1)`;

function toRecord(r: PgKeyRow): KeyRecord {
  return keyRecordOf({ ...r, created_at: Number(r.created_at), deletion_date: r.deletion_date === null ? null : Number(r.deletion_date) });
}

function isDue(key: KeyRecord, nowMs: number): boolean {
  return key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate.getTime() <= nowMs;
}

export class PgKeyRepository implements KeyRepository {
  readonly #pool: Pool;
  readonly #feed: ChangeFeed;
  readonly #now: () => Date;
  readonly #view: FeedView<KeysView>;

  /** `now` is the gateway's clock, which deletion dates are compared with (as on SQLite). */
  constructor(pool: Pool, feed: ChangeFeed, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#feed = feed;
    this.#now = now;
    this.#view = new FeedView(feed, 'keys and aliases', () => this.#load());
  }

  async #load(): Promise<KeysView> {
    const [keys, aliases] = await guarded('load keys', () =>
      Promise.all([
        this.#pool.query<PgKeyRow>('SELECT * FROM keys'),
        this.#pool.query<{ alias_name: string; key_id: string }>('SELECT alias_name, key_id FROM aliases ORDER BY alias_name'),
      ]),
    );
    return {
      keys: new Map(keys.rows.map((r) => [r.key_id, Object.freeze(toRecord(r))])),
      aliases: new Map(aliases.rows.map((a) => [a.alias_name, a.key_id])),
      aliasNames: groupValues(aliases.rows.map((a) => [a.key_id, a.alias_name])),
    };
  }

  /** Runs a write, then reads the feed so this gateway's next read sees it. */
  async #write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const out = await guarded(what, fn);
    await this.#feed.read();
    return out;
  }

  #nowMs(): number {
    return this.#now().getTime();
  }

  getKey(keyId: string): KeyRecord | undefined {
    const key = this.#view.current().keys.get(keyId);
    return key === undefined || isDue(key, this.#nowMs()) ? undefined : key;
  }

  getAliasTarget(aliasName: string): string | undefined {
    const keyId = this.#view.current().aliases.get(aliasName);
    return keyId !== undefined && this.getKey(keyId) !== undefined ? keyId : undefined;
  }

  aliasNamesOf(keyId: string): readonly string[] {
    return this.#view.current().aliasNames.get(keyId) ?? NONE;
  }

  async insertKey(key: KeyRecord, tags: readonly Tag[] = []): Promise<void> {
    await this.#write('insert key', () =>
      inTransaction(this.#pool, async (c) => {
        await insertKeyRow(c, key, '');
        for (const t of tags) await upsertTag(c, key.keyId, t);
      }),
    );
  }

  async setKeyState(keyId: string, state: KeyState, deletionDate?: Date): Promise<void> {
    const date = state === 'PendingDeletion' ? (deletionDate?.getTime() ?? null) : null;
    await this.#write('set key state', () => this.#pool.query('UPDATE keys SET key_state = $1, deletion_date = $2 WHERE key_id = $3', [state, date, keyId]));
  }

  async setDescription(keyId: string, description: string): Promise<void> {
    await this.#write('set description', () => this.#pool.query('UPDATE keys SET description = $1 WHERE key_id = $2', [description, keyId]));
  }

  async setPolicy(keyId: string, policy: string): Promise<void> {
    await this.#write('set policy', () => this.#pool.query('UPDATE keys SET policy = $1 WHERE key_id = $2', [policy, keyId]));
  }

  async listTags(keyId: string): Promise<Tag[]> {
    const { rows } = await guarded('list tags', () =>
      this.#pool.query<{ tag_key: string; tag_value: string }>('SELECT tag_key, tag_value FROM key_tags WHERE key_id = $1 ORDER BY tag_key', [keyId]),
    );
    return rows.map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value }));
  }

  async listTagsPage(keyId: string, after: string, limit: number): Promise<{ tags: Tag[]; truncated: boolean }> {
    const { rows } = await guarded('list tags', () =>
      this.#pool.query<{ tag_key: string; tag_value: string }>(
        'SELECT tag_key, tag_value FROM key_tags WHERE key_id = $1 AND tag_key > $2 ORDER BY tag_key LIMIT $3',
        [keyId, after, limit + 1],
      ),
    );
    return { tags: rows.slice(0, limit).map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value })), truncated: rows.length > limit };
  }

  async tagKey(keyId: string, tags: readonly Tag[], maxTags: number): Promise<boolean> {
    return await this.#write('tag key', () =>
      inTransaction(this.#pool, async (c) => {
        await lockKey(c, keyId);
        const { rows } = await c.query<{ tag_key: string }>('SELECT tag_key FROM key_tags WHERE key_id = $1', [keyId]);
        const names = new Set(rows.map((r) => r.tag_key));
        for (const t of tags) names.add(t.TagKey);
        if (names.size > maxTags) return false;
        for (const t of tags) await upsertTag(c, keyId, t);
        return true;
      }),
    );
  }

  async untagKey(keyId: string, tagKeys: readonly string[]): Promise<void> {
    await this.#write('untag key', () => this.#pool.query('DELETE FROM key_tags WHERE key_id = $1 AND tag_key = ANY($2::text[])', [keyId, [...tagKeys]]));
  }

  async listKeyIds(after: string, limit: number): Promise<{ keyIds: string[]; truncated: boolean }> {
    const { rows } = await guarded('list keys', () =>
      this.#pool.query<{ key_id: string }>(`SELECT key_id FROM keys WHERE key_id > $2 AND NOT ${DUE} ORDER BY key_id LIMIT $3`, [
        this.#nowMs(),
        after,
        limit + 1,
      ]),
    );
    return { keyIds: rows.slice(0, limit).map((r) => r.key_id), truncated: rows.length > limit };
  }

  async insertAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): Promise<AliasWriteResult> {
    return await this.#write('create alias', () => inTransaction(this.#pool, (c) => this.#insertAlias(c, aliasName, keyId, now, maxPerKey)));
  }

  async #insertAlias(c: PoolClient, aliasName: string, keyId: string, now: Date, maxPerKey: number): Promise<AliasWriteResult> {
    await lockKey(c, keyId);
    // An alias of a key that no longer exists no longer exists either: its name is free again.
    await c.query(`DELETE FROM aliases WHERE alias_name = $2 AND key_id IN (SELECT key_id FROM keys WHERE ${DUE})`, [this.#nowMs(), aliasName]);
    const taken = await c.query('SELECT 1 FROM aliases WHERE alias_name = $1', [aliasName]);
    if (taken.rowCount !== 0) return { ok: false, reason: 'exists' };
    const limit = await aliasLimit(c, keyId, maxPerKey);
    if (limit) return limit;
    // A name taken by another gateway since the check above: its insert won.
    const { rowCount } = await c.query('INSERT INTO aliases (alias_name, key_id, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING', [
      aliasName,
      keyId,
      now.getTime(),
    ]);
    return rowCount === 1 ? { ok: true } : { ok: false, reason: 'exists' };
  }

  async updateAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): Promise<AliasWriteResult> {
    return await this.#write('update alias', () =>
      inTransaction(this.#pool, async (c): Promise<AliasWriteResult> => {
        await lockKey(c, keyId);
        const { rows } = await c.query<{ key_id: string }>(
          `SELECT a.key_id FROM aliases a JOIN keys k ON k.key_id = a.key_id WHERE a.alias_name = $2 AND NOT ${DUE} FOR UPDATE OF a`,
          [this.#nowMs(), aliasName],
        );
        const current = rows[0]?.key_id;
        if (current === undefined) return { ok: false, reason: 'not-found' };
        if (current !== keyId) {
          const limit = await aliasLimit(c, keyId, maxPerKey);
          if (limit) return limit;
        }
        await c.query('UPDATE aliases SET key_id = $1, updated_at = $2 WHERE alias_name = $3', [keyId, now.getTime(), aliasName]);
        return { ok: true };
      }),
    );
  }

  async deleteAlias(aliasName: string): Promise<boolean> {
    const { rowCount } = await this.#write('delete alias', () =>
      this.#pool.query(`DELETE FROM aliases WHERE alias_name = $2 AND key_id IN (SELECT key_id FROM keys WHERE NOT ${DUE})`, [this.#nowMs(), aliasName]),
    );
    return rowCount === 1;
  }

  async listAliases(after: string, keyId: string | undefined, limit: number): Promise<{ aliases: AliasRecord[]; truncated: boolean }> {
    const { rows } = await guarded('list aliases', () =>
      this.#pool.query<{ alias_name: string; key_id: string; created_at: string; updated_at: string }>(
        `SELECT a.alias_name, a.key_id, a.created_at, a.updated_at FROM aliases a JOIN keys k ON k.key_id = a.key_id
         WHERE a.alias_name > $2 AND ($3::text IS NULL OR a.key_id = $3) AND NOT ${DUE} ORDER BY a.alias_name LIMIT $4`,
        [this.#nowMs(), after, keyId ?? null, limit + 1],
      ),
    );
    return {
      aliases: rows.slice(0, limit).map((r) => ({
        aliasName: r.alias_name,
        keyId: r.key_id,
        createdAt: new Date(Number(r.created_at)),
        updatedAt: new Date(Number(r.updated_at)),
      })),
      truncated: rows.length > limit,
    };
  }

  async dueForDeletion(): Promise<KeyRecord[]> {
    const { rows } = await guarded('keys due for deletion', () =>
      this.#pool.query<PgKeyRow>(`SELECT * FROM keys WHERE ${DUE} ORDER BY deletion_date, key_id`, [this.#nowMs()]),
    );
    return rows.map(toRecord);
  }

  async deleteDueKey(keyId: string): Promise<boolean> {
    const { rowCount } = await this.#write('delete key', () => this.#pool.query(`DELETE FROM keys WHERE key_id = $2 AND ${DUE}`, [this.#nowMs(), keyId]));
    return rowCount === 1;
  }

  async recordCustomKeyStores(backendIds: readonly string[], now: Date): Promise<void> {
    await guarded('record custom key stores', () =>
      this.#pool.query('INSERT INTO custom_key_stores (backend_id, created_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING', [
        [...backendIds],
        now.getTime(),
      ]),
    );
  }

  /**
   * One transaction. A key another restore inserts at the same time makes this one's insert wait
   * for that commit and then do nothing (ON CONFLICT), so each key is adopted once; keys are taken
   * in key id order, so two restores never wait for each other in a cycle.
   */
  async adoptKeys(adopt: readonly AdoptedKey[], known: readonly KnownKeyMaterials[], now: Date, maxAliasesPerKey: number): Promise<string[]> {
    return await this.#write('adopt keys', () =>
      inTransaction(this.#pool, async (c) => {
        for (const k of inKeyIdOrder(known, (k) => k.keyId)) {
          // Locked as recordRotation locks it before numbering; a key gone meanwhile gains nothing.
          const { rowCount } = await c.query('SELECT 1 FROM keys WHERE key_id = $1 FOR UPDATE', [k.keyId]);
          if (rowCount === 1) await insertMaterials(c, k.keyId, k.materials);
        }
        const inserted: string[] = [];
        for (const k of inKeyIdOrder(adopt, (k) => k.record.keyId)) {
          const keyId = k.record.keyId;
          if (!(await insertKeyRow(c, k.record, 'ON CONFLICT DO NOTHING'))) continue;
          for (const t of k.tags) await upsertTag(c, keyId, t);
          for (const alias of k.aliases) await this.#insertAlias(c, alias, keyId, now, maxAliasesPerKey);
          await insertMaterials(c, keyId, k.materials);
          if (k.schedule) await c.query(SET_SCHEDULE, [keyId, k.schedule.periodDays, k.schedule.anchorAt.getTime()]);
          inserted.push(keyId);
        }
        return inserted;
      }),
    );
  }

  async customKeyStoreCreatedAt(backendId: string): Promise<Date | undefined> {
    const { rows } = await guarded('custom key store', () =>
      this.#pool.query<{ created_at: string }>('SELECT created_at FROM custom_key_stores WHERE backend_id = $1', [backendId]),
    );
    return rows[0] ? new Date(Number(rows[0].created_at)) : undefined;
  }
}

function inKeyIdOrder<T>(items: readonly T[], keyId: (item: T) => string): T[] {
  return [...items].sort((x, y) => (keyId(x) < keyId(y) ? -1 : keyId(x) > keyId(y) ? 1 : 0));
}

/** Inserts a key's row; with `onConflict`, false when a row with its id exists already. */
async function insertKeyRow(c: PoolClient, key: KeyRecord, onConflict: '' | 'ON CONFLICT DO NOTHING'): Promise<boolean> {
  const { rowCount } = await c.query(
    `INSERT INTO keys (key_id, created_at, description, key_usage, key_spec, key_state, origin, backend_id, handle, public_key, deletion_date, policy)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ${onConflict}`,
    [
      key.keyId,
      key.createdAt.getTime(),
      key.description,
      key.keyUsage,
      key.keySpec,
      key.keyState,
      key.origin,
      key.backendId,
      key.handle,
      Buffer.from(key.publicKey),
      key.deletionDate?.getTime() ?? null,
      key.policy ?? null,
    ],
  );
  return rowCount === 1;
}

async function upsertTag(c: PoolClient, keyId: string, t: Tag): Promise<void> {
  await c.query(
    'INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
    [keyId, t.TagKey, t.TagValue],
  );
}

/** Serializes the writes that check a per-key limit before they change (another gateway's included). */
async function lockKey(c: PoolClient, keyId: string): Promise<void> {
  await c.query('SELECT 1 FROM keys WHERE key_id = $1 FOR UPDATE', [keyId]);
}

async function aliasLimit(c: PoolClient, keyId: string, maxPerKey: number): Promise<AliasWriteResult | undefined> {
  const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM aliases WHERE key_id = $1', [keyId]);
  const count = Number(rows[0]!.n);
  return count >= maxPerKey ? { ok: false, reason: 'limit', count } : undefined;
}
