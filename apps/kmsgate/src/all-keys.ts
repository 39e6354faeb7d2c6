import type { KeyRecord } from '@kmsgate/core';
import type { KeyRepository } from '@kmsgate/store';

/** Every live key, in key id order, a page at a time: what `keys list` lists and the hsm commands pick a backend's keys from. */
export async function allKeys(keys: KeyRepository): Promise<KeyRecord[]> {
  const out: KeyRecord[] = [];
  for (let after = ''; ;) {
    const page = await keys.listKeyIds(after, 1000);
    for (const keyId of page.keyIds) {
      const record = keys.getKey(keyId);
      if (record) out.push(record);
    }
    if (!page.truncated) return out;
    after = page.keyIds[page.keyIds.length - 1]!;
  }
}
