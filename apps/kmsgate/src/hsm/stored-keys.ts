/** The keys as the store records them: all of them, or one backend's with their tags and aliases. */
import { hasKeyMaterial, type KeyRecord } from '@kmsgate/core';
import { materialUseName, type GatewayStore, type KeyMaterial } from '@kmsgate/store';
import { allKeys } from '../all-keys';
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
export async function storedKeys(store: Pick<GatewayStore, 'keys' | 'rotations' | 'refresh'>, backendId: string): Promise<StoredKey[]> {
  const { keys, rotations } = store;
  // The views (keys, aliases, materials) as the database has them now, not as when the store was opened.
  await store.refresh();
  const out: StoredKey[] = [];
  for (const record of await allKeys(keys)) {
    if (record.backendId !== backendId || !hasKeyMaterial(record)) continue;
    const keyId = record.keyId;
    const schedule = (await rotations.state(keyId)).schedule;
    out.push({
      record,
      tags: await keys.listTags(keyId),
      aliases: [...keys.aliasNamesOf(keyId)],
      rotations: rotations.rotations(keyId),
      ...(schedule ? { schedule: { periodDays: schedule.periodDays, anchorAt: schedule.anchorAt } } : {}),
    });
  }
  return out;
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
