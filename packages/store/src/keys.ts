import type { KeyRecord, KeyState, KeyUsageValue, OriginValue, SupportedKeySpec } from '@kmsgate/core';
import type { AdoptedKey, AliasRecord, AliasWriteResult, KeyRepository, KnownKeyMaterials, Tag } from './contract/keys';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';
import { KeyRotationStore } from './key-rotations';
import { ReadCache, type CachedRead } from './read-cache';

/** A `keys` row (times in epoch milliseconds), as every database's store reads it. */
export interface KeyRow {
  key_id: string;
  created_at: number;
  description: string;
  key_usage: string;
  key_spec: string;
  key_state: string;
  origin: string;
  backend_id: string;
  handle: string;
  public_key: Buffer;
  deletion_date: number | null;
  policy: string | null;
}

export function keyRecordOf(r: KeyRow): KeyRecord {
  return {
    keyId: r.key_id,
    createdAt: new Date(r.created_at),
    description: r.description,
    keyUsage: r.key_usage as KeyUsageValue,
    keySpec: r.key_spec as SupportedKeySpec,
    keyState: r.key_state as KeyState,
    origin: r.origin as OriginValue,
    backendId: r.backend_id,
    handle: r.handle,
    publicKey: new Uint8Array(r.public_key),
    ...(r.deletion_date !== null ? { deletionDate: new Date(r.deletion_date) } : {}),
    ...(r.policy !== null ? { policy: r.policy } : {}),
  };
}

interface AliasRow {
  alias_name: string;
  key_id: string;
  created_at: number;
  updated_at: number;
}

/**
 * A key whose deletion date has passed no longer exists for clients, whether or not the deletion
 * sweeper has destroyed its device object yet. `?` is the current time in epoch milliseconds.
 */
const DUE = `(key_state = 'PendingDeletion' AND deletion_date <= ?)`;
const LIVE = `NOT ${DUE}`;

/** DUE, for a record read from the cache. */
function isDue(key: KeyRecord, nowMs: number): boolean {
  return key.keyState === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate.getTime() <= nowMs;
}

/**
 * Key metadata, aliases and tags on SQLite (contract/keys.ts). Reads see only live keys (see DUE);
 * every write is one statement or one transaction, so a request that fails changes nothing.
 */
export class KeyStore implements Synchronous<KeyRepository> {
  private readonly stmts;
  /** Key rows (live or due: liveness is decided at each read), alias targets and alias names (read-cache.ts). */
  readonly #cached: {
    key: CachedRead<string, KeyRecord | undefined>;
    alias: CachedRead<string, string | undefined>;
    aliasNames: CachedRead<string, readonly string[]>;
  };

  /** `now` is the gateway's clock (injectable so tests can move time instead of waiting). */
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.stmts = {
      get: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE key_id = ?'),
      insert: db.prepare(`INSERT INTO keys (key_id, created_at, description, key_usage, key_spec, key_state, origin,
        backend_id, handle, public_key, deletion_date, policy)
        VALUES (@keyId, @createdAt, @description, @keyUsage, @keySpec, @keyState, @origin, @backendId, @handle,
        @publicKey, @deletionDate, @policy)`),
      setState: db.prepare('UPDATE keys SET key_state = ?, deletion_date = ? WHERE key_id = ?'),
      setDescription: db.prepare('UPDATE keys SET description = ? WHERE key_id = ?'),
      setPolicy: db.prepare('UPDATE keys SET policy = ? WHERE key_id = ?'),
      due: db.prepare<[number], KeyRow>(`SELECT * FROM keys WHERE ${DUE} ORDER BY deletion_date, key_id`),
      deleteDue: db.prepare(`DELETE FROM keys WHERE key_id = ? AND ${DUE}`),
      page: db.prepare<[string, number, number], { key_id: string }>(`SELECT key_id FROM keys WHERE key_id > ? AND ${LIVE} ORDER BY key_id LIMIT ?`),

      upsertTag: db.prepare(`INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)
        ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`),
      deleteTag: db.prepare('DELETE FROM key_tags WHERE key_id = ? AND tag_key = ?'),
      tagKeys: db.prepare<[string], { tag_key: string }>('SELECT tag_key FROM key_tags WHERE key_id = ?'),
      tags: db.prepare<[string], { tag_key: string; tag_value: string }>('SELECT tag_key, tag_value FROM key_tags WHERE key_id = ? ORDER BY tag_key'),
      tagPage: db.prepare<[string, string, number], { tag_key: string; tag_value: string }>(
        'SELECT tag_key, tag_value FROM key_tags WHERE key_id = ? AND tag_key > ? ORDER BY tag_key LIMIT ?',
      ),

      alias: db.prepare<[string], { key_id: string }>('SELECT key_id FROM aliases WHERE alias_name = ?'),
      aliasCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM aliases WHERE key_id = ?'),
      aliasNames: db.prepare<[string], { alias_name: string }>('SELECT alias_name FROM aliases WHERE key_id = ? ORDER BY alias_name'),
      // An alias of a key that no longer exists no longer exists either: its name is free again.
      dropStaleAlias: db.prepare(`DELETE FROM aliases WHERE alias_name = ? AND key_id IN (SELECT key_id FROM keys WHERE ${DUE})`),
      aliasExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM aliases WHERE alias_name = ?'),
      insertAlias: db.prepare('INSERT INTO aliases (alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      updateAlias: db.prepare('UPDATE aliases SET key_id = ?, updated_at = ? WHERE alias_name = ?'),
      deleteAlias: db.prepare(`DELETE FROM aliases WHERE alias_name = ? AND key_id IN (SELECT key_id FROM keys WHERE ${LIVE})`),
      aliasPage: db.prepare<[string, string | null, string | null, number, number], AliasRow>(
        `SELECT a.alias_name, a.key_id, a.created_at, a.updated_at FROM aliases a JOIN keys k ON k.key_id = a.key_id
         WHERE a.alias_name > ? AND (? IS NULL OR a.key_id = ?) AND ${LIVE} ORDER BY a.alias_name LIMIT ?`,
      ),

      recordStore: db.prepare('INSERT OR IGNORE INTO custom_key_stores (backend_id, created_at) VALUES (?, ?)'),
      storeCreated: db.prepare<[string], { created_at: number }>('SELECT created_at FROM custom_key_stores WHERE backend_id = ?'),
    };
    const cache = ReadCache.of(db);
    this.#cached = { key: cache.read(), alias: cache.read(), aliasNames: cache.read() };
  }

  #nowMs(): number {
    return this.now().getTime();
  }

  /** The key if it is live. The record is shared with later reads: never modify it. */
  getKey(keyId: string): KeyRecord | undefined {
    const key = this.#cached.key.get(keyId, () => {
      const row = this.stmts.get.get(keyId);
      return row ? Object.freeze(keyRecordOf(row)) : undefined;
    });
    return key === undefined || isDue(key, this.#nowMs()) ? undefined : key;
  }

  /** The key id an alias names, if the alias exists and its key is live. */
  getAliasTarget(aliasName: string): string | undefined {
    const keyId = this.#cached.alias.get(aliasName, () => this.stmts.alias.get(aliasName)?.key_id);
    return keyId !== undefined && this.getKey(keyId) !== undefined ? keyId : undefined;
  }

  /** See KeyRepository.adoptKeys: one transaction over keys, aliases, tags and the rotation tables. */
  adoptKeys(adopt: readonly AdoptedKey[], known: readonly KnownKeyMaterials[], now: Date, maxAliasesPerKey: number): string[] {
    const rotations = new KeyRotationStore(this.db);
    return this.db
      .transaction(() => {
        for (const k of known) if (this.stmts.get.get(k.keyId)) rotations.insertMaterials(k.keyId, k.materials);
        const inserted: string[] = [];
        for (const k of adopt) {
          const keyId = k.record.keyId;
          if (this.stmts.get.get(keyId)) continue;
          this.insertKey(k.record, k.tags);
          for (const alias of k.aliases) this.insertAlias(alias, keyId, now, maxAliasesPerKey);
          rotations.insertMaterials(keyId, k.materials);
          if (k.schedule) rotations.setSchedule(keyId, k.schedule.periodDays, k.schedule.anchorAt);
          inserted.push(keyId);
        }
        return inserted;
      })
      .immediate();
  }

  /** Inserts the key and its tags in one transaction. */
  insertKey(key: KeyRecord, tags: readonly Tag[] = []): void {
    this.db.transaction(() => {
      this.stmts.insert.run({
        keyId: key.keyId,
        createdAt: key.createdAt.getTime(),
        description: key.description,
        keyUsage: key.keyUsage,
        keySpec: key.keySpec,
        keyState: key.keyState,
        origin: key.origin,
        backendId: key.backendId,
        handle: key.handle,
        publicKey: Buffer.from(key.publicKey),
        deletionDate: key.deletionDate?.getTime() ?? null,
        policy: key.policy ?? null,
      });
      for (const t of tags) this.stmts.upsertTag.run(key.keyId, t.TagKey, t.TagValue);
    })();
  }

  /** Sets the key state; `deletionDate` only for PendingDeletion (it is cleared otherwise). */
  setKeyState(keyId: string, state: KeyState, deletionDate?: Date): void {
    this.stmts.setState.run(state, state === 'PendingDeletion' ? (deletionDate?.getTime() ?? null) : null, keyId);
  }

  setDescription(keyId: string, description: string): void {
    this.stmts.setDescription.run(description, keyId);
  }

  /** Stored exactly as given: GetKeyPolicy returns the same bytes. */
  setPolicy(keyId: string, policy: string): void {
    this.stmts.setPolicy.run(policy, keyId);
  }

  listTags(keyId: string): Tag[] {
    return this.stmts.tags.all(keyId).map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value }));
  }

  /** Tags in tag-key order after `after` (exclusive). */
  listTagsPage(keyId: string, after: string, limit: number): { tags: Tag[]; truncated: boolean } {
    const rows = this.stmts.tagPage.all(keyId, after, limit + 1);
    return { tags: rows.slice(0, limit).map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value })), truncated: rows.length > limit };
  }

  /**
   * Adds or overwrites tags. Returns false, changing nothing, when the key would end up with more
   * than `maxTags` tags.
   */
  tagKey(keyId: string, tags: readonly Tag[], maxTags: number): boolean {
    return this.db.transaction(() => {
      const keys = new Set(this.stmts.tagKeys.all(keyId).map((r) => r.tag_key));
      for (const t of tags) keys.add(t.TagKey);
      if (keys.size > maxTags) return false;
      for (const t of tags) this.stmts.upsertTag.run(keyId, t.TagKey, t.TagValue);
      return true;
    })();
  }

  /** Removes the named tags; names the key does not have are ignored, as AWS does. */
  untagKey(keyId: string, tagKeys: readonly string[]): void {
    this.db.transaction(() => {
      for (const k of tagKeys) this.stmts.deleteTag.run(keyId, k);
    })();
  }

  /** Keys in key-id order after `after` (exclusive); asks for one extra row to know if more follow. */
  listKeyIds(after: string, limit: number): { keyIds: string[]; truncated: boolean } {
    const rows = this.stmts.page.all(after, this.#nowMs(), limit + 1);
    return { keyIds: rows.slice(0, limit).map((r) => r.key_id), truncated: rows.length > limit };
  }

  /** Creates the alias unless the name is taken or the key already has `maxPerKey` aliases. */
  insertAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): AliasWriteResult {
    return this.db.transaction((): AliasWriteResult => {
      this.stmts.dropStaleAlias.run(aliasName, this.#nowMs());
      if (this.stmts.aliasExists.get(aliasName)) return { ok: false, reason: 'exists' };
      const count = this.stmts.aliasCount.get(keyId)!.n;
      if (count >= maxPerKey) return { ok: false, reason: 'limit', count };
      this.stmts.insertAlias.run(aliasName, keyId, now.getTime(), now.getTime());
      return { ok: true };
    })();
  }

  /** Points an existing (live) alias at another key, within the per-key alias limit. */
  updateAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): AliasWriteResult {
    return this.db.transaction((): AliasWriteResult => {
      const current = this.getAliasTarget(aliasName);
      if (current === undefined) return { ok: false, reason: 'not-found' };
      if (current !== keyId) {
        const count = this.stmts.aliasCount.get(keyId)!.n;
        if (count >= maxPerKey) return { ok: false, reason: 'limit', count };
      }
      this.stmts.updateAlias.run(keyId, now.getTime(), aliasName);
      return { ok: true };
    })();
  }

  /** Returns false when there is no such (live) alias. */
  deleteAlias(aliasName: string): boolean {
    return this.stmts.deleteAlias.run(aliasName, this.#nowMs()).changes === 1;
  }

  /** The alias names of a live key, sorted (what scopes and policies may be keyed by); one index lookup. */
  aliasNamesOf(keyId: string): readonly string[] {
    return this.#cached.aliasNames.get(keyId, () => Object.freeze(this.stmts.aliasNames.all(keyId).map((r) => r.alias_name)));
  }

  listAliases(after: string, keyId: string | undefined, limit: number): { aliases: AliasRecord[]; truncated: boolean } {
    const rows = this.stmts.aliasPage.all(after, keyId ?? null, keyId ?? null, this.#nowMs(), limit + 1);
    return {
      aliases: rows.slice(0, limit).map((r) => ({
        aliasName: r.alias_name,
        keyId: r.key_id,
        createdAt: new Date(r.created_at),
        updatedAt: new Date(r.updated_at),
      })),
      truncated: rows.length > limit,
    };
  }

  /** Keys whose deletion date has passed and whose rows still exist (their device objects may too). */
  dueForDeletion(): KeyRecord[] {
    return this.stmts.due.all(this.#nowMs()).map(keyRecordOf);
  }

  /**
   * Deletes a due key's row; its aliases and tags go with it (ON DELETE CASCADE). No tombstone is
   * kept: a deleted key simply does not exist, as on AWS. False if the key is not (or no longer) due.
   */
  deleteDueKey(keyId: string): boolean {
    return this.stmts.deleteDue.run(keyId, this.#nowMs()).changes === 1;
  }

  /** Records the first time each backend was served, for DescribeCustomKeyStores' CreationDate. */
  recordCustomKeyStores(backendIds: readonly string[], now: Date): void {
    this.db.transaction(() => {
      for (const id of backendIds) this.stmts.recordStore.run(id, now.getTime());
    })();
  }

  customKeyStoreCreatedAt(backendId: string): Date | undefined {
    const row = this.stmts.storeCreated.get(backendId);
    return row ? new Date(row.created_at) : undefined;
  }
}
