import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyRecord } from '@kmsgate/core';
import { ApiKeyStore } from '../src/api-keys';
import { loadOrCreateSealKey } from '../src/credential-seal';
import { openDb, type Db } from '../src/db';
import { KeyStore } from '../src/keys';
import { KeyRotationStore } from '../src/key-rotations';
import { SqlitePolicyState } from '../src/policy-state';
import { CACHED_TABLES, READ_CACHE_MAX_ENTRIES, ReadCache } from '../src/read-cache';

/**
 * The cached reads of the request path against writes made through a second connection to the same
 * file (what the api-key CLI, `kmsgate kill-switch` or a second gateway are) and through other store
 * objects on the same connection: every change is seen by the very next read.
 */
let dir: string;
let served: Db;
let other: Db;
let now: Date;

const key = (keyId: string, over: Partial<KeyRecord> = {}): KeyRecord => ({
  keyId,
  createdAt: new Date(0),
  description: '',
  keyUsage: 'SIGN_VERIFY',
  keySpec: 'ECC_NIST_P256',
  keyState: 'Enabled',
  origin: 'AWS_KMS',
  backendId: 'yubihsm',
  handle: '0x0001',
  publicKey: new Uint8Array([1, 2, 3]),
  ...over,
});
const K1 = '11111111-1111-4111-8111-111111111111';
const K2 = '22222222-2222-4222-8222-222222222222';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-read-cache-'));
  served = openDb(join(dir, 'kms.db'));
  other = openDb(join(dir, 'kms.db'));
  now = new Date('2026-01-01T00:00:00Z');
});
afterEach(() => {
  served.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the statements a connection runs that read `table`. */
function readsOf(db: Db, table: string): () => number {
  let n = 0;
  const prepare = db.prepare.bind(db);
  // Statements prepared from here on are counted (the stores below are built after this).
  (db as { prepare: Db['prepare'] }).prepare = ((sql: string) => {
    const stmt = prepare(sql);
    if (!new RegExp(`\\bFROM ${table}\\b`).test(sql)) return stmt;
    for (const m of ['get', 'all'] as const) {
      const original = stmt[m].bind(stmt) as (...a: unknown[]) => unknown;
      (stmt as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        n++;
        return original(...a);
      };
    }
    return stmt;
  }) as Db['prepare'];
  return () => n;
}

describe('API keys', () => {
  it('a cached x-api-key lookup stops at the revoke made through another connection', () => {
    const seal = loadOrCreateSealKey(dir);
    const reads = readsOf(served, 'api_keys');
    const gateway = new ApiKeyStore(served, seal);
    const cli = new ApiKeyStore(other, seal);
    const k = cli.generate({ label: 'agent', role: 'signer' });
    expect(gateway.findByApiKey(k.apiKey)).toMatchObject({ apiKeyId: k.id });
    expect(gateway.findByApiKey(k.apiKey)).toMatchObject({ apiKeyId: k.id });
    expect(reads()).toBe(1);
    expect(cli.revoke(k.id)).toBe(true);
    expect(gateway.findByApiKey(k.apiKey)).toBeUndefined();
  });

  it('a cached x-api-key lookup is refused from its expiry on, with no read and no write: the cache holds the expiry, not a verdict', () => {
    const seal = loadOrCreateSealKey(dir);
    let clock = new Date('2026-06-01T00:00:00Z');
    const reads = readsOf(served, 'api_keys');
    const gateway = new ApiKeyStore(served, seal, { now: () => clock });
    const k = new ApiKeyStore(other, seal, { now: () => clock }).generate({ label: 'agent', role: 'signer', expiresAt: new Date('2026-06-01T01:00:00Z') });
    expect(gateway.findByApiKey(k.apiKey)).toMatchObject({ apiKeyId: k.id });
    clock = new Date('2026-06-01T01:00:00Z');
    expect(gateway.findByApiKey(k.apiKey)).toBeUndefined();
    clock = new Date('2026-06-01T00:59:59.999Z');
    expect(gateway.findByApiKey(k.apiKey)).toMatchObject({ apiKeyId: k.id });
    expect(reads()).toBe(1);
  });

  it('an unknown key is looked up every time and never cached (guesses cannot push real entries out)', () => {
    const seal = loadOrCreateSealKey(dir);
    const reads = readsOf(served, 'api_keys');
    const gateway = new ApiKeyStore(served, seal);
    const guess = 'kmsgate_' + 'A'.repeat(43);
    expect(gateway.findByApiKey(guess)).toBeUndefined();
    expect(gateway.findByApiKey(guess)).toBeUndefined();
    expect(reads()).toBe(2);
  });

  it('a cached scope follows updateScope made through another connection', () => {
    const seal = loadOrCreateSealKey(dir);
    const gateway = new ApiKeyStore(served, seal);
    const cli = new ApiKeyStore(other, seal);
    const k = cli.generate({ label: 'agent', role: 'signer', scope: ['alias/a'] });
    expect(gateway.scopeOf(k.id)).toEqual({ restricted: true, selectors: ['alias/a'] });
    cli.updateScope(k.id, { add: ['alias/b'] });
    expect(gateway.scopeOf(k.id)).toEqual({ restricted: true, selectors: ['alias/a', 'alias/b'] });
    cli.updateScope(k.id, { remove: ['alias/a', 'alias/b'] });
    expect(gateway.scopeOf(k.id)).toEqual({ restricted: true, selectors: [] });
  });

  it('last_used_at, written once a minute per key, does not empty the cache', () => {
    const seal = loadOrCreateSealKey(dir);
    const reads = readsOf(served, 'api_keys');
    const gateway = new ApiKeyStore(served, seal);
    const k = gateway.generate({ label: 'agent', role: 'signer' });
    gateway.findByApiKey(k.apiKey);
    expect(gateway.touch(k.id, now)).toBe(true);
    expect(new ApiKeyStore(other, seal).touch(k.id, new Date(now.getTime() + 120_000))).toBe(true);
    gateway.findByApiKey(k.apiKey);
    expect(reads()).toBe(1);
  });
});

describe('keys and aliases', () => {
  it('a key disabled through another connection is read as disabled on the next read', () => {
    const gateway = new KeyStore(served, () => now);
    const cli = new KeyStore(other, () => now);
    cli.insertKey(key(K1));
    expect(gateway.getKey(K1)?.keyState).toBe('Enabled');
    cli.setKeyState(K1, 'Disabled');
    expect(gateway.getKey(K1)?.keyState).toBe('Disabled');
  });

  it('a key whose deletion date passes disappears with the clock, without any write', () => {
    const gateway = new KeyStore(served, () => now);
    gateway.insertKey(key(K1, { keyState: 'PendingDeletion', deletionDate: new Date(now.getTime() + 1000) }));
    gateway.insertAlias('alias/doomed', K1, now, 100);
    expect(gateway.getKey(K1)?.keyId).toBe(K1);
    expect(gateway.getAliasTarget('alias/doomed')).toBe(K1);
    now = new Date(now.getTime() + 1000);
    expect(gateway.getKey(K1)).toBeUndefined();
    expect(gateway.getAliasTarget('alias/doomed')).toBeUndefined();
  });

  it('an alias re-pointed or deleted through another connection resolves anew; alias names follow', () => {
    const gateway = new KeyStore(served, () => now);
    const cli = new KeyStore(other, () => now);
    cli.insertKey(key(K1));
    cli.insertKey(key(K2));
    cli.insertAlias('alias/a', K1, now, 100);
    expect(gateway.getAliasTarget('alias/a')).toBe(K1);
    expect(gateway.aliasNamesOf(K1)).toEqual(['alias/a']);
    cli.updateAlias('alias/a', K2, now, 100);
    expect(gateway.getAliasTarget('alias/a')).toBe(K2);
    expect(gateway.aliasNamesOf(K1)).toEqual([]);
    expect(gateway.aliasNamesOf(K2)).toEqual(['alias/a']);
    cli.deleteAlias('alias/a');
    expect(gateway.getAliasTarget('alias/a')).toBeUndefined();
  });

  it('a write through another store object on the same connection is seen too (the count is kept by SQLite, not by the writer)', () => {
    const reader = new KeyStore(served, () => now);
    const writer = new KeyStore(served, () => now);
    writer.insertKey(key(K1));
    expect(reader.getKey(K1)?.description).toBe('');
    writer.setDescription(K1, 'changed');
    expect(reader.getKey(K1)?.description).toBe('changed');
  });

  it('a write that rolls back leaves nothing stale behind', () => {
    const gateway = new KeyStore(served, () => now);
    gateway.insertKey(key(K1));
    expect(() =>
      served.transaction(() => {
        gateway.setDescription(K1, 'never committed');
        expect(gateway.getKey(K1)?.description).toBe('never committed');
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(gateway.getKey(K1)?.description).toBe('');
  });

  it('cached records are frozen: one request cannot change what the next one reads', () => {
    const gateway = new KeyStore(served, () => now);
    gateway.insertKey(key(K1));
    expect(Object.isFrozen(gateway.getKey(K1))).toBe(true);
    expect(Object.isFrozen(gateway.aliasNamesOf(K1))).toBe(true);
  });
});

describe('kill switches and runtime policies', () => {
  it('a kill switch engaged and released through another connection stops and frees the next read', async () => {
    const gateway = new SqlitePolicyState(served);
    const cli = new SqlitePolicyState(other);
    expect(gateway.killSwitchesFor(K1)).toEqual({ global: undefined, key: undefined });
    await cli.setKillSwitch(K1, true, 'cli', 'incident', now);
    expect(gateway.killSwitchesFor(K1).key).toMatchObject({ target: K1, reason: 'incident' });
    await cli.setKillSwitch('*', true, 'cli', null, now);
    expect(gateway.killSwitchesFor(K2).global).toMatchObject({ target: '*' });
    await cli.setKillSwitch('*', false, 'cli', null, now);
    await cli.setKillSwitch(K1, false, 'cli', null, now);
    expect(gateway.killSwitchesFor(K1)).toEqual({ global: undefined, key: undefined });
  });

  it('a runtime policy put and deleted through another connection applies from the next read', async () => {
    const gateway = new SqlitePolicyState(served);
    const cli = new SqlitePolicyState(other);
    expect(gateway.runtimePoliciesFor([K1, 'alias/a'])).toEqual([]);
    await cli.putRuntimePolicy('alias/a', '{"chain":"generic"}', 'cli', now);
    expect(gateway.runtimePoliciesFor([K1, 'alias/a'])).toEqual([expect.objectContaining({ selector: 'alias/a', policy: '{"chain":"generic"}' })]);
    await cli.deleteRuntimePolicy('alias/a');
    expect(gateway.runtimePoliciesFor([K1, 'alias/a'])).toEqual([]);
  });
});

describe('a server: one check per request', () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it('reads in the turn of a check rely on it; the next check sees what another connection wrote', async () => {
    const counterReads = readsOf(served, 'store_version');
    const gateway = new KeyStore(served, () => now);
    const cli = new KeyStore(other, () => now);
    cli.insertKey(key(K1));
    const cache = ReadCache.of(served);
    cache.check();
    expect(gateway.getKey(K1)?.keyState).toBe('Enabled');
    expect(gateway.getKey(K1)?.keyState).toBe('Enabled');
    expect(counterReads()).toBe(1);
    cli.setKeyState(K1, 'Disabled');
    cache.check(); // the next request, in the same turn or a later one
    expect(gateway.getKey(K1)?.keyState).toBe('Disabled');
    expect(counterReads()).toBe(2);
    await nextTurn();
    // A later turn without a check of its own reads the counter per read again.
    cli.setKeyState(K1, 'Enabled');
    expect(gateway.getKey(K1)?.keyState).toBe('Enabled');
    expect(counterReads()).toBe(3);
  });

  it('a write through the same connection in the turn of a check is seen by the very next read', () => {
    const seal = loadOrCreateSealKey(dir);
    const gateway = new KeyStore(served, () => now);
    const apiKeys = new ApiKeyStore(served, seal);
    const state = new SqlitePolicyState(served);
    gateway.insertKey(key(K1));
    const k = apiKeys.generate({ label: 'agent', role: 'signer' });
    const cache = ReadCache.of(served);
    cache.check();
    expect(gateway.getKey(K1)?.keyState).toBe('Enabled');
    expect(apiKeys.findByApiKey(k.apiKey)).toMatchObject({ apiKeyId: k.id });
    expect(state.killSwitchesFor(K1).key).toBeUndefined();
    gateway.setKeyState(K1, 'Disabled');
    apiKeys.revoke(k.id);
    // Not awaited: SQLite writes before the promise is made, and an await would end the turn under test.
    void state.setKillSwitch(K1, true, 'admin', null, now);
    expect(gateway.getKey(K1)?.keyState).toBe('Disabled');
    expect(apiKeys.findByApiKey(k.apiKey)).toBeUndefined();
    expect(state.killSwitchesFor(K1).key).toMatchObject({ engagedBy: 'admin' });
  });
});

describe('the counter itself', () => {
  const version = (db: Db) => (db.prepare('SELECT n FROM store_version').get() as { n: number }).n;

  it.each(CACHED_TABLES)('every insert, update and delete on %s moves it', (table) => {
    const seal = loadOrCreateSealKey(dir);
    const keys = new KeyStore(other, () => now);
    const apiKeys = new ApiKeyStore(other, seal);
    const state = new SqlitePolicyState(other);
    const writes: Record<(typeof CACHED_TABLES)[number], (() => void)[]> = {
      keys: [() => keys.insertKey(key(K1)), () => keys.setKeyState(K1, 'Disabled'), () => other.prepare('DELETE FROM keys WHERE key_id = ?').run(K1)],
      aliases: [
        () => {
          keys.insertKey(key(K1));
          keys.insertKey(key(K2));
          keys.insertAlias('alias/a', K1, now, 100);
        },
        () => keys.updateAlias('alias/a', K2, now, 100),
        () => keys.deleteAlias('alias/a'),
      ],
      api_keys: (() => {
        let id = '';
        return [
          () => {
            id = apiKeys.generate({ label: 'x', role: 'signer' }).id;
          },
          () => apiKeys.revoke(id),
          () => other.prepare('DELETE FROM api_keys WHERE id = ?').run(id),
        ];
      })(),
      api_key_scopes: (() => {
        let id = '';
        return [
          () => {
            id = apiKeys.generate({ label: 'x', role: 'signer', scope: ['alias/a'] }).id;
          },
          () => other.prepare("UPDATE api_key_scopes SET selector = 'alias/b'").run(),
          () => apiKeys.updateScope(id, { allKeys: true }),
        ];
      })(),
      signing_policies: [
        () => state.putRuntimePolicy('alias/a', '{}', 'cli', now),
        () => state.putRuntimePolicy('alias/a', '{"x":1}', 'cli', now),
        () => state.deleteRuntimePolicy('alias/a'),
      ],
      key_materials: [
        () => {
          keys.insertKey(key(K1));
          new KeyRotationStore(other).recordRotation(K1, '1:2', 'ON_DEMAND', now);
        },
        () => other.prepare("UPDATE key_materials SET handle = '1:3'").run(),
        () => other.prepare('DELETE FROM keys WHERE key_id = ?').run(K1),
      ],
      kill_switches: [
        () => state.setKillSwitch(K1, true, 'cli', null, now),
        () => other.prepare("UPDATE kill_switches SET reason = 'r'").run(),
        () => state.setKillSwitch(K1, false, 'cli', null, now),
      ],
    };
    for (const write of writes[table]) {
      const before = version(served);
      write();
      expect(version(served)).toBeGreaterThan(before);
    }
  });

  it('each cached read holds at most READ_CACHE_MAX_ENTRIES entries', () => {
    const read = ReadCache.of(served).read<number, number>();
    let loads = 0;
    for (let i = 0; i <= READ_CACHE_MAX_ENTRIES; i++) read.get(i, () => ++loads);
    // Entry 0 went with the overflow and is loaded again.
    read.get(0, () => ++loads);
    expect(loads).toBe(READ_CACHE_MAX_ENTRIES + 2);
    read.get(READ_CACHE_MAX_ENTRIES, () => ++loads);
    expect(loads).toBe(READ_CACHE_MAX_ENTRIES + 2);
  });
});
