/** The keys of one backend as the store records them, with their tags and aliases. */
import { hasKeyMaterial, type KeyRecord } from '@kmsgate/core';
import type { KeyStore } from '@kmsgate/store';
import { CliError } from '../context';

export interface StoredKey {
  record: KeyRecord;
  tags: { TagKey: string; TagValue: string }[];
  aliases: string[];
}

/**
 * Every key of `backendId` in the store that has a device object (PendingDeletion ones too: their
 * deletion can still be cancelled). A key awaiting ImportKeyMaterial has none to back up or audit.
 */
export function storedKeys(keys: KeyStore, backendId: string): StoredKey[] {
  const out: StoredKey[] = [];
  for (let after = ''; ;) {
    const page = keys.listKeyIds(after, 1000);
    for (const keyId of page.keyIds) {
      const record = keys.getKey(keyId);
      if (!record || record.backendId !== backendId || !hasKeyMaterial(record)) continue;
      const aliases = keys.listAliases('', keyId, 1000).aliases.map((a) => a.aliasName);
      out.push({ record, tags: keys.listTags(keyId), aliases });
    }
    if (!page.truncated) return out;
    after = page.keyIds[page.keyIds.length - 1]!;
  }
}

/** kmsgate's YubiHSM 2 handles are `<device serial>:<object id>`. */
export function objectIdOf(record: Pick<KeyRecord, 'handle' | 'keyId'>): number {
  const m = /^\d+:(\d+)$/.exec(record.handle);
  const id = Number(m?.[1]);
  if (!m || !Number.isInteger(id) || id < 1 || id > 0xfffe)
    throw new CliError(`key ${record.keyId} has no YubiHSM 2 handle (${JSON.stringify(record.handle)})`);
  return id;
}
