import type { KeyLookup, KeyRecord, KeyState } from '@kmsgate/core';
import type { KeyMaterial } from './key-rotations';
import type { MethodKinds } from './repository';

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface AliasRecord {
  aliasName: string;
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A key as a backup recorded it, to be adopted into a store again (`kmsgate hsm restore`). */
export interface AdoptedKey {
  record: KeyRecord;
  tags: readonly Tag[];
  aliases: readonly string[];
  /** The materials rotation had added (versions 1, 2, …). */
  materials: readonly Required<KeyMaterial>[];
  /** The automatic rotation schedule, if it was enabled. */
  schedule?: { periodDays: number; anchorAt: Date };
}

/** The rotated materials a backup holds of a key the store knows already. */
export interface KnownKeyMaterials {
  keyId: string;
  materials: readonly Required<KeyMaterial>[];
}

/** Why an alias write did not happen; nothing was changed. */
export type AliasWriteResult = { ok: true } | { ok: false; reason: 'exists' | 'not-found' } | { ok: false; reason: 'limit'; count: number };

/**
 * Key metadata, aliases, tags and the custom key stores served. Every KMS operation reaches keys
 * through this. Reads see only live keys: a key whose deletion date has passed no longer exists for
 * clients, whether or not its device object has been destroyed yet. Every write is atomic, so a
 * request that fails changes nothing.
 */
export interface KeyRepository extends KeyLookup {
  /** The key if it is live. The record is shared with later reads: never modify it. */
  getKey(keyId: string): KeyRecord | undefined;
  /** The key id an alias names, if the alias exists and its key is live. */
  getAliasTarget(aliasName: string): string | undefined;
  /** The alias names of a live key, sorted (what scopes and policies may be keyed by). */
  aliasNamesOf(keyId: string): readonly string[];

  /** Inserts the key and its tags atomically. */
  insertKey(key: KeyRecord, tags?: readonly Tag[]): Promise<void>;
  /** Sets the key state; `deletionDate` only for PendingDeletion (it is cleared otherwise). */
  setKeyState(keyId: string, state: KeyState, deletionDate?: Date): Promise<void>;
  setDescription(keyId: string, description: string): Promise<void>;
  /** Stored exactly as given: GetKeyPolicy returns the same bytes. */
  setPolicy(keyId: string, policy: string): Promise<void>;
  listTags(keyId: string): Promise<Tag[]>;
  /** Tags in tag-key order after `after` (exclusive). */
  listTagsPage(keyId: string, after: string, limit: number): Promise<{ tags: Tag[]; truncated: boolean }>;
  /** Adds or overwrites tags; false, changing nothing, when the key would end up with more than `maxTags`. */
  tagKey(keyId: string, tags: readonly Tag[], maxTags: number): Promise<boolean>;
  /** Removes the named tags; names the key does not have are ignored, as AWS does. */
  untagKey(keyId: string, tagKeys: readonly string[]): Promise<void>;
  /** Live keys in key-id order after `after` (exclusive). */
  listKeyIds(after: string, limit: number): Promise<{ keyIds: string[]; truncated: boolean }>;
  /** Creates the alias unless the name is taken or the key already has `maxPerKey` aliases. */
  insertAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): Promise<AliasWriteResult>;
  /** Points an existing (live) alias at another key, within the per-key alias limit. */
  updateAlias(aliasName: string, keyId: string, now: Date, maxPerKey: number): Promise<AliasWriteResult>;
  /** False when there is no such (live) alias. */
  deleteAlias(aliasName: string): Promise<boolean>;
  listAliases(after: string, keyId: string | undefined, limit: number): Promise<{ aliases: AliasRecord[]; truncated: boolean }>;
  /** Keys whose deletion date has passed and whose rows still exist (their device objects may too). */
  dueForDeletion(): Promise<KeyRecord[]>;
  /** Deletes a due key with its aliases and tags; false if it is not (or no longer) due. */
  deleteDueKey(keyId: string): Promise<boolean>;
  /** Records the first time each backend was served, for DescribeCustomKeyStores' CreationDate. */
  recordCustomKeyStores(backendIds: readonly string[], now: Date): Promise<void>;
  customKeyStoreCreatedAt(backendId: string): Promise<Date | undefined>;
  /**
   * Adopts a backup's keys (`kmsgate hsm restore`), all in one transaction. Each of `known` that
   * still exists gains the materials above its last version. Each of `adopt` that has no row is
   * inserted with its tags, its aliases (as `insertAlias` with `maxAliasesPerKey` would: a name
   * taken stays with its key), its materials and its schedule; one that has a row (another restore
   * adopted it meanwhile) is left as it is. Returns the ids of the keys inserted.
   */
  adoptKeys(adopt: readonly AdoptedKey[], known: readonly KnownKeyMaterials[], now: Date, maxAliasesPerKey: number): Promise<string[]>;
}

export const KEY_REPOSITORY: MethodKinds<KeyRepository> = {
  getKey: 'view',
  getAliasTarget: 'view',
  aliasNamesOf: 'view',
  insertKey: 'async',
  setKeyState: 'async',
  setDescription: 'async',
  setPolicy: 'async',
  listTags: 'async',
  listTagsPage: 'async',
  tagKey: 'async',
  untagKey: 'async',
  listKeyIds: 'async',
  insertAlias: 'async',
  updateAlias: 'async',
  deleteAlias: 'async',
  listAliases: 'async',
  dueForDeletion: 'async',
  deleteDueKey: 'async',
  recordCustomKeyStores: 'async',
  customKeyStoreCreatedAt: 'async',
  adoptKeys: 'async',
};
