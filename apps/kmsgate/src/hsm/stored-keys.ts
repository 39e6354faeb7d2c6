/** The keys as the store records them: all of them, or one backend's with their tags and aliases. */
import { hasKeyMaterial, type KeyRecord } from '@kmsgate/core';
import { KeyRotationStore, materialUseName, type KeyMaterial, type KeyStore, type Db } from '@kmsgate/store';
import { CliError } from '../context';

export interface StoredKey {
  record: KeyRecord;
  tags: { TagKey: string; TagValue: string }[];
  aliases: string[];
  /** What rotation added (versions 1, 2, …), each its own device object; version 0 is the record's handle. */
  rotations: readonly KeyMaterial[];
  /** The automatic rotation schedule, if enabled. */
  schedule?: { periodDays: number; anchorAt: Date };
}

/**
 * Every key of `backendId` in the store that has a device object (PendingDeletion ones too: their
 * deletion can still be cancelled). A key awaiting ImportKeyMaterial has none to back up or audit.
 */
export function storedKeys(db: Db, keys: KeyStore, backendId: string): StoredKey[] {
  const rotations = new KeyRotationStore(db);
  const out: StoredKey[] = [];
  for (const record of everyKey(keys)) {
    if (record.backendId !== backendId || !hasKeyMaterial(record)) continue;
    const keyId = record.keyId;
    const aliases = keys.listAliases('', keyId, 1000).aliases.map((a) => a.aliasName);
    const schedule = rotations.state(keyId).schedule;
    out.push({
      record,
      tags: keys.listTags(keyId),
      aliases,
      rotations: rotations.rotations(keyId),
      ...(schedule ? { schedule: { periodDays: schedule.periodDays, anchorAt: schedule.anchorAt } } : {}),
    });
  }
  return out;
}

/** Every key in the store, in key id order, a page at a time. */
export function* everyKey(keys: KeyStore): Generator<KeyRecord> {
  for (let after = ''; ;) {
    const page = keys.listKeyIds(after, 1000);
    for (const keyId of page.keyIds) {
      const record = keys.getKey(keyId);
      if (record) yield record;
    }
    if (!page.truncated) return;
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

/** Each device object of a stored key by the name its audit records give its uses (materialUseName): the first material and every rotated one. */
export function deviceObjectsOf(k: StoredKey): [name: string, objectId: number][] {
  return [
    [k.record.keyId, objectIdOf(k.record)],
    ...k.rotations.map((m): [string, number] => [materialUseName(k.record.keyId, m.version), objectIdOf({ keyId: k.record.keyId, handle: m.handle })]),
  ];
}
