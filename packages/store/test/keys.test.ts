import type { KeyRecord } from '@kmsgate/core';
import { openDb, type Db } from '../src/db';
import { KeyStore } from '../src/keys';

/** KeyStore against a real (in-memory) SQLite database with the real migrations and a movable clock. */
const DAY = 24 * 60 * 60 * 1000;
let db: Db;
let clock: number;
let store: KeyStore;

beforeEach(() => {
  db = openDb(':memory:');
  clock = Date.UTC(2026, 0, 1);
  store = new KeyStore(db, () => new Date(clock));
});
afterEach(() => db.close());

function key(keyId: string): KeyRecord {
  return {
    keyId,
    createdAt: new Date(clock),
    description: '',
    keyUsage: 'SIGN_VERIFY',
    keySpec: 'ECC_NIST_P256',
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    backendId: 'hsm',
    handle: '7',
    publicKey: new Uint8Array([1, 2, 3]),
  };
}
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe('keys past their deletion date', () => {
  beforeEach(() => {
    store.insertKey(key(A), [{ TagKey: 't', TagValue: 'v' }]);
    store.insertKey(key(B));
    expect(store.insertAlias('alias/a', A, new Date(clock), 50)).toEqual({ ok: true });
    store.setKeyState(A, 'PendingDeletion', new Date(clock + 7 * DAY));
  });

  it('exist until the date, and not a millisecond after, for every read', () => {
    clock += 7 * DAY - 1;
    expect(store.getKey(A)?.keyState).toBe('PendingDeletion');
    expect(store.getAliasTarget('alias/a')).toBe(A);
    expect(store.dueForDeletion()).toEqual([]);
    clock += 1;
    expect(store.getKey(A)).toBeUndefined();
    expect(store.getAliasTarget('alias/a')).toBeUndefined();
    expect(store.listKeyIds('', 10).keyIds).toEqual([B]);
    expect(store.listAliases('', undefined, 10).aliases).toEqual([]);
    expect(store.deleteAlias('alias/a')).toBe(false);
    expect(store.dueForDeletion().map((k) => k.keyId)).toEqual([A]);
  });

  it('free their alias names, and deleting the row takes aliases and tags with it', () => {
    clock += 8 * DAY;
    expect(store.insertAlias('alias/a', B, new Date(clock), 50)).toEqual({ ok: true });
    expect(store.getAliasTarget('alias/a')).toBe(B);
    expect(store.deleteDueKey(A)).toBe(true);
    expect(store.deleteDueKey(A)).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM key_tags WHERE key_id = ?').get(A)).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM keys').get()).toEqual({ n: 1 });
  });

  it('are not deleted while not due, or once cancelled', () => {
    expect(store.deleteDueKey(A)).toBe(false);
    store.setKeyState(A, 'Disabled');
    clock += 30 * DAY;
    expect(store.deleteDueKey(A)).toBe(false);
    expect(store.getKey(A)).toMatchObject({ keyState: 'Disabled' });
    expect(store.getKey(A)?.deletionDate).toBeUndefined();
  });
});

describe('limits leave nothing half-done', () => {
  beforeEach(() => {
    store.insertKey(key(A));
    store.insertKey(key(B));
  });

  it('tags: adds and overwrites within the limit, refuses beyond it unchanged', () => {
    expect(
      store.tagKey(
        A,
        [
          { TagKey: 'x', TagValue: '1' },
          { TagKey: 'y', TagValue: '1' },
        ],
        3,
      ),
    ).toBe(true);
    expect(
      store.tagKey(
        A,
        [
          { TagKey: 'x', TagValue: '2' },
          { TagKey: 'z', TagValue: '1' },
        ],
        3,
      ),
    ).toBe(true);
    expect(
      store.tagKey(
        A,
        [
          { TagKey: 'x', TagValue: '3' },
          { TagKey: 'w', TagValue: '1' },
        ],
        3,
      ),
    ).toBe(false);
    expect(store.listTags(A)).toEqual([
      { TagKey: 'x', TagValue: '2' },
      { TagKey: 'y', TagValue: '1' },
      { TagKey: 'z', TagValue: '1' },
    ]);
    expect(store.listTagsPage(A, 'x', 1)).toEqual({ tags: [{ TagKey: 'y', TagValue: '1' }], truncated: true });
    store.untagKey(A, ['y', 'nope']);
    expect(store.listTags(A).map((t) => t.TagKey)).toEqual(['x', 'z']);
  });

  it('aliases: a name is taken once; a key holds at most the limit; UpdateAlias respects it too', () => {
    expect(store.insertAlias('alias/1', A, new Date(clock), 2)).toEqual({ ok: true });
    expect(store.insertAlias('alias/1', B, new Date(clock), 2)).toEqual({ ok: false, reason: 'exists' });
    expect(store.insertAlias('alias/2', A, new Date(clock), 2)).toEqual({ ok: true });
    expect(store.insertAlias('alias/3', A, new Date(clock), 2)).toEqual({ ok: false, reason: 'limit', count: 2 });
    expect(store.insertAlias('alias/3', B, new Date(clock), 2)).toEqual({ ok: true });
    expect(store.updateAlias('alias/3', A, new Date(clock + 1000), 2)).toEqual({ ok: false, reason: 'limit', count: 2 });
    expect(store.updateAlias('alias/1', A, new Date(clock + 1000), 2)).toEqual({ ok: true }); // already there
    expect(store.updateAlias('alias/none', A, new Date(clock), 2)).toEqual({ ok: false, reason: 'not-found' });
    expect(store.listAliases('', B, 10).aliases.map((a) => a.aliasName)).toEqual(['alias/3']);
  });
});

it('remembers when a custom key store was first served', () => {
  store.recordCustomKeyStores(['hsm'], new Date(clock));
  store.recordCustomKeyStores(['hsm', 'other'], new Date(clock + DAY));
  expect(store.customKeyStoreCreatedAt('hsm')).toEqual(new Date(clock));
  expect(store.customKeyStoreCreatedAt('other')).toEqual(new Date(clock + DAY));
  expect(store.customKeyStoreCreatedAt('never')).toBeUndefined();
});
