import type { KeyLookup, KeyRecord, KeyState, KeyUsageValue, OriginValue, SupportedKeySpec } from '@kmsgate/core';
import type { Db } from './db';

interface KeyRow {
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

function toRecord(r: KeyRow): KeyRecord {
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

export interface Tag { TagKey: string; TagValue: string }

/** Key metadata, aliases and tags. Every KMS operation reaches keys through this class. */
export class KeyStore implements KeyLookup {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      get: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE key_id = ?'),
      insert: db.prepare(`INSERT INTO keys (key_id, created_at, description, key_usage, key_spec, key_state, origin,
        backend_id, handle, public_key, deletion_date, policy)
        VALUES (@keyId, @createdAt, @description, @keyUsage, @keySpec, @keyState, @origin, @backendId, @handle,
        @publicKey, @deletionDate, @policy)`),
      insertTag: db.prepare('INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)'),
      tags: db.prepare<[string], { tag_key: string; tag_value: string }>(
        'SELECT tag_key, tag_value FROM key_tags WHERE key_id = ? ORDER BY tag_key'),
      page: db.prepare<[string, number], { key_id: string }>(
        'SELECT key_id FROM keys WHERE key_id > ? ORDER BY key_id LIMIT ?'),
      alias: db.prepare<[string], { key_id: string }>('SELECT key_id FROM aliases WHERE alias_name = ?'),
      insertAlias: db.prepare('INSERT OR IGNORE INTO aliases (alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      deleteAlias: db.prepare('DELETE FROM aliases WHERE alias_name = ?'),
      aliasPage: db.prepare<[string, string | null, string | null, number], AliasRow>(
        `SELECT alias_name, key_id, created_at, updated_at FROM aliases
         WHERE alias_name > ? AND (? IS NULL OR key_id = ?) ORDER BY alias_name LIMIT ?`),
    };
  }

  getKey(keyId: string): KeyRecord | undefined {
    const row = this.stmts.get.get(keyId);
    return row ? toRecord(row) : undefined;
  }

  getAliasTarget(aliasName: string): string | undefined {
    return this.stmts.alias.get(aliasName)?.key_id;
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
      for (const t of tags) this.stmts.insertTag.run(key.keyId, t.TagKey, t.TagValue);
    })();
  }

  listTags(keyId: string): Tag[] {
    return this.stmts.tags.all(keyId).map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value }));
  }

  /** Keys in key-id order after `after` (exclusive); asks for one extra row to know if more follow. */
  listKeyIds(after: string, limit: number): { keyIds: string[]; truncated: boolean } {
    const rows = this.stmts.page.all(after, limit + 1);
    return { keyIds: rows.slice(0, limit).map((r) => r.key_id), truncated: rows.length > limit };
  }

  /** Returns false when the alias name is taken. */
  insertAlias(aliasName: string, keyId: string, now: Date): boolean {
    return this.stmts.insertAlias.run(aliasName, keyId, now.getTime(), now.getTime()).changes === 1;
  }

  deleteAlias(aliasName: string): boolean {
    return this.stmts.deleteAlias.run(aliasName).changes === 1;
  }

  listAliases(after: string, keyId: string | undefined, limit: number): { aliases: AliasRecord[]; truncated: boolean } {
    const rows = this.stmts.aliasPage.all(after, keyId ?? null, keyId ?? null, limit + 1);
    return {
      aliases: rows.slice(0, limit).map((r) => ({
        aliasName: r.alias_name, keyId: r.key_id, createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
      })),
      truncated: rows.length > limit,
    };
  }
}

interface AliasRow { alias_name: string; key_id: string; created_at: number; updated_at: number }
export interface AliasRecord { aliasName: string; keyId: string; createdAt: Date; updatedAt: Date }
