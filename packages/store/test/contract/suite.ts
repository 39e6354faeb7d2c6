/**
 * The store contract suite: the same cases against every GatewayStore implementation. Each case
 * opens two instances on one fresh database (two gateways sharing it), with one movable clock, and
 * checks what the contracts promise: a write is visible through the same instance at once, through
 * the other after its next refresh; bad input is a rejection that changes nothing.
 */
import type { KeyRecord } from '@kmsgate/core';
import type { AuditInput } from '../../src/audit';
import { DEVICE_LOG_LEASE_MS, WitnessLeaseLostError, type AdoptedKey, type GatewayStore, type KeyMaterial, type StoredLogEntry } from '../../src/contract';

/** The repositories the contract covers (the signing gates' state has its own suite, packages/policy). */
export type ContractStore = Pick<GatewayStore, 'keys' | 'apiKeys' | 'rotations' | 'importTokens' | 'deviceLogs' | 'refresh' | 'refreshFor'>;

export interface ContractDatabase {
  /**
   * Two instances on the same fresh database, reading time from `now`; `audit` appends a record to
   * the audit log their device-log rounds read; `leaseTimePasses` makes `ms` pass on the clock
   * witness leases run on, where that is not `now` (PostgreSQL's: the database's).
   */
  open(now: () => Date): Promise<{
    a: ContractStore;
    b: ContractStore;
    audit(input: AuditInput): Promise<void>;
    leaseTimePasses(ms: number): Promise<void>;
    close(): Promise<void>;
  }>;
}

const DAY = 86_400_000;
const K1 = '00000000-0000-4000-8000-0000000000a1';
const K2 = '00000000-0000-4000-8000-0000000000a2';
const MINUTE = 60_000;

/** Polls `check` (refreshing `store` first) until it holds; jest's timeout is the only limit. */
export async function eventually(store: ContractStore, check: () => boolean): Promise<void> {
  for (;;) {
    await store.refresh();
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function storeContract(name: string, database: ContractDatabase): void {
  describe(`store contract: ${name}`, () => {
    let clock: number;
    let a: ContractStore;
    let b: ContractStore;
    let close: () => Promise<void>;
    let audit: (input: AuditInput) => Promise<void>;
    let leaseTimePasses: (ms: number) => Promise<void>;

    beforeEach(async () => {
      clock = Date.UTC(2026, 0, 1);
      ({ a, b, audit, leaseTimePasses, close } = await database.open(() => new Date(clock)));
    });
    afterEach(async () => {
      await close();
    });

    function key(keyId: string, over: Partial<KeyRecord> = {}): KeyRecord {
      return {
        keyId,
        createdAt: new Date(clock),
        description: 'd',
        keyUsage: 'SIGN_VERIFY',
        keySpec: 'ECC_NIST_P256',
        keyState: 'Enabled',
        origin: 'AWS_KMS',
        backendId: 'hsm',
        handle: '1:7',
        publicKey: new Uint8Array([1, 2, 3]),
        ...over,
      };
    }

    describe('API keys', () => {
      test('a generated key is found at once through its own instance, by x-api-key and by SigV4 access key id', async () => {
        const k = await a.apiKeys.generate({ label: 'ops', role: 'admin' });
        expect(a.apiKeys.findByApiKey(k.apiKey)).toEqual({ apiKeyId: k.id, label: 'ops', role: 'admin' });
        expect(a.apiKeys.findSigV4Secret(k.accessKeyId)).toEqual({
          principal: { apiKeyId: k.id, label: 'ops', role: 'admin' },
          secretAccessKey: k.secretAccessKey,
        });
        expect(await a.apiKeys.get(k.id)).toMatchObject({ id: k.id, label: 'ops', role: 'admin', revokedAt: null, lastUsedAt: null, expiresAt: null });
        expect((await a.apiKeys.list()).map((r) => r.id)).toEqual([k.id]);
        expect(a.apiKeys.findByApiKey(`${k.apiKey.slice(0, -1)}${k.apiKey.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
      });

      test('a key revoked through one instance is refused by the other from its next refresh on', async () => {
        const k = await a.apiKeys.generate({ label: 'hot', role: 'signer' });
        await eventually(b, () => b.apiKeys.findByApiKey(k.apiKey) !== undefined);
        expect(b.apiKeys.findSigV4Secret(k.accessKeyId)?.principal.apiKeyId).toBe(k.id);
        expect(await a.apiKeys.revoke(k.id, new Date(clock))).toBe(true);
        expect(a.apiKeys.findByApiKey(k.apiKey)).toBeUndefined();
        await eventually(b, () => b.apiKeys.findByApiKey(k.apiKey) === undefined);
        expect(b.apiKeys.findSigV4Secret(k.accessKeyId)).toBeUndefined();
        // A second revoke keeps the first time.
        expect(await b.apiKeys.revoke(k.id, new Date(clock + DAY))).toBe(true);
        expect((await a.apiKeys.get(k.id))?.revokedAt).toEqual(new Date(clock));
      });

      test('expiry is read from the clock on every lookup', async () => {
        const k = await a.apiKeys.generate({ label: 'temp', role: 'signer', expiresAt: new Date(clock + 1000) });
        clock += 999;
        expect(a.apiKeys.findByApiKey(k.apiKey)?.apiKeyId).toBe(k.id);
        clock += 1;
        expect(a.apiKeys.findByApiKey(k.apiKey)).toBeUndefined();
        expect(a.apiKeys.findSigV4Secret(k.accessKeyId)).toBeUndefined();
      });

      test('scopes: given at creation, changed atomically, seen by the other instance after refresh', async () => {
        const k = await a.apiKeys.generate({ label: 'hot', role: 'signer', scope: ['alias/a'] });
        expect(a.apiKeys.scopeOf(k.id)).toEqual({ restricted: true, selectors: ['alias/a'] });
        expect(await a.apiKeys.updateScope(k.id, { add: [K1], remove: ['alias/a'] })).toEqual({ restricted: true, selectors: [K1] });
        await eventually(b, () => b.apiKeys.scopeOf(k.id)?.selectors[0] === K1);
        expect(await b.apiKeys.updateScope(k.id, { allKeys: true })).toEqual({ restricted: false, selectors: [] });
        await eventually(a, () => a.apiKeys.scopeOf(k.id)?.restricted === false);
        expect(a.apiKeys.scopeOf('ak_0000000000000000')).toBeUndefined();
      });

      test('touch writes last_used_at at most once a minute per key', async () => {
        const k = await a.apiKeys.generate({ label: 'ops', role: 'admin' });
        expect(await a.apiKeys.touch(k.id, new Date(clock))).toBe(true);
        expect(await a.apiKeys.touch(k.id, new Date(clock + 1000))).toBe(false);
        expect((await b.apiKeys.get(k.id))?.lastUsedAt).toEqual(new Date(clock));
      });

      test('bad input is a rejection (never a synchronous throw) and changes nothing', async () => {
        const admin = await a.apiKeys.generate({ label: 'ops', role: 'admin' });
        const refused = (f: () => Promise<unknown>) => {
          let p: Promise<unknown> | undefined;
          expect(() => (p = f())).not.toThrow();
          return expect(p).rejects;
        };
        await refused(() => a.apiKeys.generate({ label: '', role: 'signer' })).toThrow(RangeError);
        await refused(() => a.apiKeys.generate({ label: 'x', role: 'root' as never })).toThrow(TypeError);
        await refused(() => a.apiKeys.generate({ label: 'x', role: 'admin', scope: [K1] })).toThrow('only signer keys have a scope');
        await refused(() => a.apiKeys.generate({ label: 'x', role: 'signer', expiresAt: new Date(clock) })).toThrow(RangeError);
        await refused(() => a.apiKeys.updateScope(admin.id, { add: [K1] })).toThrow('only signer keys have a scope');
        await refused(() => a.apiKeys.updateScope('ak_nope', { add: [K1] })).toThrow("no API key with id 'ak_nope'");
        await refused(() => a.apiKeys.revoke('')).toThrow(RangeError);
        expect((await b.apiKeys.list()).map((r) => r.id)).toEqual([admin.id]);
      });
    });

    describe('keys and aliases', () => {
      test('a key inserted with tags is read at once through its instance, and by the other after refresh', async () => {
        await a.keys.insertKey(key(K1), [{ TagKey: 'team', TagValue: 'ops' }]);
        expect(a.keys.getKey(K1)).toMatchObject({ keyId: K1, keyState: 'Enabled', handle: '1:7', publicKey: new Uint8Array([1, 2, 3]) });
        await eventually(b, () => b.keys.getKey(K1) !== undefined);
        expect(b.keys.getKey(K1)?.createdAt).toEqual(new Date(clock));
        expect(await b.keys.listTags(K1)).toEqual([{ TagKey: 'team', TagValue: 'ops' }]);
        // The database's own refusal (its error class may come from another realm in jest: matched by message).
        await expect(a.keys.insertKey(key(K1))).rejects.toHaveProperty('message', expect.stringMatching(/UNIQUE constraint|duplicate key/));
      });

      test('refreshFor: the request runs after the refresh, sees what the other instance wrote before it, and keeps reading the views in its later turns', async () => {
        await a.keys.insertKey(key(K1));
        await eventually(b, () => b.keys.getKey(K1) !== undefined);
        await a.keys.setKeyState(K1, 'Disabled');
        let states: (string | undefined)[] = [];
        // Polled: the other instance sees the write within its bound, not necessarily at once.
        while (states[0] !== 'Disabled') {
          states = await b.refreshFor(async () => {
            const first = b.keys.getKey(K1)?.keyState;
            await new Promise((resolve) => setImmediate(resolve));
            return [first, b.keys.getKey(K1)?.keyState];
          });
        }
        expect(states).toEqual(['Disabled', 'Disabled']);
      });

      test('a state change through one instance applies to the other after refresh', async () => {
        await a.keys.insertKey(key(K1));
        await eventually(b, () => b.keys.getKey(K1)?.keyState === 'Enabled');
        await a.keys.setKeyState(K1, 'Disabled');
        expect(a.keys.getKey(K1)?.keyState).toBe('Disabled');
        await eventually(b, () => b.keys.getKey(K1)?.keyState === 'Disabled');
        await b.keys.setDescription(K1, 'new');
        await b.keys.setPolicy(K1, '{"Version":"2012-10-17"}');
        // Two writes: another instance may see the first before the second.
        await eventually(a, () => a.keys.getKey(K1)?.description === 'new' && a.keys.getKey(K1)?.policy === '{"Version":"2012-10-17"}');
      });

      test('aliases: create within the per-key limit, move, delete; names are unique', async () => {
        await a.keys.insertKey(key(K1));
        await a.keys.insertKey(key(K2));
        expect(await a.keys.insertAlias('alias/x', K1, new Date(clock), 2)).toEqual({ ok: true });
        expect(await b.keys.insertAlias('alias/x', K2, new Date(clock), 2)).toEqual({ ok: false, reason: 'exists' });
        expect(await a.keys.insertAlias('alias/y', K1, new Date(clock), 2)).toEqual({ ok: true });
        expect(await a.keys.insertAlias('alias/z', K1, new Date(clock), 2)).toEqual({ ok: false, reason: 'limit', count: 2 });
        expect(a.keys.aliasNamesOf(K1)).toEqual(['alias/x', 'alias/y']);
        expect(await a.keys.updateAlias('alias/x', K2, new Date(clock + 1), 2)).toEqual({ ok: true });
        expect(await a.keys.updateAlias('alias/none', K2, new Date(clock), 2)).toEqual({ ok: false, reason: 'not-found' });
        expect(a.keys.getAliasTarget('alias/x')).toBe(K2);
        await eventually(b, () => b.keys.getAliasTarget('alias/x') === K2);
        expect(b.keys.aliasNamesOf(K1)).toEqual(['alias/y']);
        const page = await b.keys.listAliases('', undefined, 1);
        expect(page).toEqual({ aliases: [{ aliasName: 'alias/x', keyId: K2, createdAt: new Date(clock), updatedAt: new Date(clock + 1) }], truncated: true });
        expect((await b.keys.listAliases('alias/x', undefined, 10)).aliases.map((x) => x.aliasName)).toEqual(['alias/y']);
        expect((await b.keys.listAliases('', K2, 10)).aliases.map((x) => x.aliasName)).toEqual(['alias/x']);
        expect(await b.keys.deleteAlias('alias/x')).toBe(true);
        expect(await b.keys.deleteAlias('alias/x')).toBe(false);
        await eventually(a, () => a.keys.getAliasTarget('alias/x') === undefined);
      });

      test('racing alias writes from both instances never pass the per-key limit, and a name goes to one of them', async () => {
        await a.keys.insertKey(key(K1));
        await a.keys.insertKey(key(K2));
        const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).keys.insertAlias(`alias/r${i}`, K1, new Date(clock), 3)));
        expect(racing.filter((r) => r.ok)).toHaveLength(3);
        expect(racing.filter((r) => !r.ok)).toEqual(Array.from({ length: 5 }, () => ({ ok: false, reason: 'limit', count: 3 })));
        const same = await Promise.all([a.keys.insertAlias('alias/same', K2, new Date(clock), 10), b.keys.insertAlias('alias/same', K2, new Date(clock), 10)]);
        expect(same.filter((r) => r.ok)).toHaveLength(1);
        expect(same.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'exists' }]);
        await eventually(b, () => b.keys.aliasNamesOf(K1).length === 3);
      });

      test('tags: the per-key limit is checked atomically; untag ignores unknown names; pages in tag-key order', async () => {
        await a.keys.insertKey(key(K1));
        expect(
          await a.keys.tagKey(
            K1,
            [
              { TagKey: 'b', TagValue: '1' },
              { TagKey: 'a', TagValue: '2' },
            ],
            2,
          ),
        ).toBe(true);
        expect(await a.keys.tagKey(K1, [{ TagKey: 'c', TagValue: '3' }], 2)).toBe(false);
        expect(await a.keys.tagKey(K1, [{ TagKey: 'a', TagValue: 'over' }], 2)).toBe(true);
        await a.keys.untagKey(K1, ['b', 'nope']);
        expect(await b.keys.listTagsPage(K1, '', 10)).toEqual({ tags: [{ TagKey: 'a', TagValue: 'over' }], truncated: false });
      });

      test('listing pages in key-id order; a key past its deletion date is gone for every read, then deleted with its aliases', async () => {
        await a.keys.insertKey(key(K1));
        await a.keys.insertKey(key(K2));
        expect(await a.keys.listKeyIds('', 1)).toEqual({ keyIds: [K1], truncated: true });
        expect(await a.keys.listKeyIds(K1, 1)).toEqual({ keyIds: [K2], truncated: false });
        expect(await a.keys.insertAlias('alias/gone', K1, new Date(clock), 10)).toEqual({ ok: true });
        await a.keys.setKeyState(K1, 'PendingDeletion', new Date(clock + 7 * DAY));
        expect(await b.keys.dueForDeletion()).toEqual([]);
        clock += 7 * DAY;
        await eventually(b, () => b.keys.getKey(K1) === undefined);
        expect(b.keys.getAliasTarget('alias/gone')).toBeUndefined();
        expect((await b.keys.listKeyIds('', 10)).keyIds).toEqual([K2]);
        expect((await b.keys.dueForDeletion()).map((k) => k.keyId)).toEqual([K1]);
        // The name of an alias of a key that no longer exists is free again.
        expect(await b.keys.insertAlias('alias/gone', K2, new Date(clock), 10)).toEqual({ ok: true });
        expect(await a.keys.deleteDueKey(K1)).toBe(true);
        expect(await a.keys.deleteDueKey(K1)).toBe(false);
        expect(await b.keys.dueForDeletion()).toEqual([]);
      });

      test("adopting a backup's keys: each the store lacks with its tags, aliases, materials and schedule; one it has is left as it is; a known key gains only the materials it lacks", async () => {
        const K3 = '00000000-0000-4000-8000-0000000000a3';
        const symmetric = (keyId: string, over: Partial<KeyRecord> = {}) =>
          key(keyId, { keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', handle: '7:1', publicKey: new Uint8Array(0), ...over });
        const material = (version: number, handle: string): Required<KeyMaterial> => ({
          version,
          handle,
          rotatedAt: new Date(clock + version),
          rotationType: 'AUTOMATIC',
        });
        await a.keys.insertKey(symmetric(K2));
        await a.rotations.recordRotation(K2, '7:2', 'ON_DEMAND', new Date(clock));
        await a.keys.insertKey(key(K3, { description: 'the store says' }));
        expect(await a.keys.insertAlias('alias/taken', K2, new Date(clock), 10)).toEqual({ ok: true });
        const adopt: AdoptedKey[] = [
          {
            record: symmetric(K1, { handle: '9:1' }),
            tags: [{ TagKey: 'team', TagValue: 'ops' }],
            aliases: ['alias/one', 'alias/taken'],
            materials: [material(1, '9:2'), material(2, '9:3')],
            schedule: { periodDays: 90, anchorAt: new Date(clock - DAY) },
          },
          { record: key(K3, { description: 'the backup says' }), tags: [{ TagKey: 'x', TagValue: 'y' }], aliases: ['alias/three'], materials: [] },
        ];
        const known = [{ keyId: K2, materials: [material(1, '9:12'), material(2, '9:13')] }];
        expect(await b.keys.adoptKeys(adopt, known, new Date(clock), 10)).toEqual([K1]);
        expect(b.keys.getKey(K1)).toMatchObject({ keyId: K1, handle: '9:1', keySpec: 'SYMMETRIC_DEFAULT' });
        await eventually(a, () => a.keys.getKey(K1) !== undefined && a.rotations.rotations(K1).length === 2 && a.rotations.rotations(K2).length === 2);
        expect(await a.keys.listTags(K1)).toEqual([{ TagKey: 'team', TagValue: 'ops' }]);
        // A name another key holds stays with it.
        expect(a.keys.aliasNamesOf(K1)).toEqual(['alias/one']);
        expect(a.keys.getAliasTarget('alias/taken')).toBe(K2);
        expect(a.rotations.rotations(K1)).toEqual([material(1, '9:2'), material(2, '9:3')]);
        expect((await a.rotations.state(K1)).schedule).toEqual({
          periodDays: 90,
          anchorAt: new Date(clock - DAY),
          nextRotationDate: new Date(clock + 89 * DAY),
        });
        // The known key keeps its version 1 and gains version 2.
        expect(a.rotations.rotations(K2).map((m) => [m.version, m.handle])).toEqual([
          [1, '7:2'],
          [2, '9:13'],
        ]);
        // The key the store has is left as the store has it.
        expect(a.keys.getKey(K3)?.description).toBe('the store says');
        expect(a.keys.aliasNamesOf(K3)).toEqual([]);
        expect(await a.keys.listTags(K3)).toEqual([]);
      });

      test('two instances adopting the same keys at once: each key is adopted once, by one of them', async () => {
        const backup: AdoptedKey[] = [K2, K1].map((keyId) => ({
          record: key(keyId),
          tags: [{ TagKey: 't', TagValue: keyId }],
          aliases: [`alias/${keyId}`],
          materials: [],
        }));
        const adopted = await Promise.all([a.keys.adoptKeys(backup, [], new Date(clock), 10), b.keys.adoptKeys(backup, [], new Date(clock), 10)]);
        expect(adopted.flat().sort()).toEqual([K1, K2]);
        await eventually(a, () => a.keys.aliasNamesOf(K1).length === 1 && a.keys.aliasNamesOf(K2).length === 1);
        expect(await b.keys.listTags(K1)).toEqual([{ TagKey: 't', TagValue: K1 }]);
      });

      test('a backup material numbered below 1 is refused, and nothing of the adoption is kept', async () => {
        const bad: AdoptedKey = {
          record: key(K1),
          tags: [],
          aliases: ['alias/bad'],
          materials: [{ version: 0, handle: '9:2', rotatedAt: new Date(clock), rotationType: 'AUTOMATIC' }],
        };
        await expect(a.keys.adoptKeys([bad], [], new Date(clock), 10)).rejects.toThrow(RangeError);
        expect(await b.keys.listKeyIds('', 10)).toEqual({ keyIds: [], truncated: false });
        expect(await b.keys.listAliases('', undefined, 10)).toEqual({ aliases: [], truncated: false });
      });

      test('custom key stores keep the first time they were served', async () => {
        await a.keys.recordCustomKeyStores(['hsm', 'tee'], new Date(clock));
        await b.keys.recordCustomKeyStores(['hsm'], new Date(clock + DAY));
        expect(await b.keys.customKeyStoreCreatedAt('hsm')).toEqual(new Date(clock));
        expect(await a.keys.customKeyStoreCreatedAt('other')).toBeUndefined();
      });
    });

    describe('key rotation', () => {
      const symmetric = (keyId: string) =>
        key(keyId, { keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', handle: '7:1', publicKey: new Uint8Array(0) });

      test('materials: version 0 is the key handle; each rotation adds the next, current at once here and on the other instance after refresh; they go with their key', async () => {
        await a.keys.insertKey(symmetric(K1));
        expect(a.rotations.materials(symmetric(K1))).toEqual([{ version: 0, handle: '7:1' }]);
        expect(await a.rotations.recordRotation(K1, '7:2', 'ON_DEMAND', new Date(clock))).toEqual({
          version: 1,
          handle: '7:2',
          rotatedAt: new Date(clock),
          rotationType: 'ON_DEMAND',
        });
        expect(a.rotations.current(symmetric(K1))).toMatchObject({ version: 1, handle: '7:2' });
        await eventually(b, () => b.rotations.current(symmetric(K1)).version === 1);
        expect(await b.rotations.recordRotation(K1, '7:3', 'AUTOMATIC', new Date(clock + DAY))).toMatchObject({ version: 2 });
        expect(b.rotations.version(symmetric(K1), 1)).toEqual({ version: 1, handle: '7:2', rotatedAt: new Date(clock), rotationType: 'ON_DEMAND' });
        expect(b.rotations.version(symmetric(K1), 0)).toEqual({ version: 0, handle: '7:1' });
        expect(b.rotations.version(symmetric(K1), 3)).toBeUndefined();
        await eventually(a, () => a.rotations.rotations(K1).length === 2);
        expect(a.rotations.materials(symmetric(K1)).map((m) => m.handle)).toEqual(['7:1', '7:2', '7:3']);
        expect(await a.rotations.onDemandRotations(K1)).toBe(1);
        await a.keys.setKeyState(K1, 'PendingDeletion', new Date(clock));
        expect(await a.keys.deleteDueKey(K1)).toBe(true);
        await eventually(b, () => b.rotations.rotations(K1).length === 0);
      });

      test('schedule: enable from now, a new period keeps the anchor, an automatic rotation restarts it, an on-demand one does not; due keys are enabled ones past their date', async () => {
        await a.keys.insertKey(symmetric(K1));
        await a.keys.insertKey(symmetric(K2));
        expect(await a.rotations.state(K1)).toEqual({});
        await a.rotations.enable(K1, 365, new Date(clock));
        await b.rotations.enable(K1, 100, new Date(clock + 10 * DAY));
        expect((await a.rotations.state(K1)).schedule).toEqual({ periodDays: 100, anchorAt: new Date(clock), nextRotationDate: new Date(clock + 100 * DAY) });
        await b.rotations.recordRotation(K1, '7:2', 'ON_DEMAND', new Date(clock + 50 * DAY));
        expect((await a.rotations.state(K1)).schedule?.nextRotationDate).toEqual(new Date(clock + 100 * DAY));
        await a.rotations.setSchedule(K2, 30, new Date(clock - 40 * DAY));
        expect(await b.rotations.dueForRotation(new Date(clock + 100 * DAY))).toEqual([K2, K1]);
        await a.rotations.recordRotation(K1, '7:3', 'AUTOMATIC', new Date(clock + 101 * DAY));
        expect((await b.rotations.state(K1)).schedule?.nextRotationDate).toEqual(new Date(clock + 201 * DAY));
        await a.keys.setKeyState(K2, 'Disabled');
        expect(await b.rotations.dueForRotation(new Date(clock + 102 * DAY))).toEqual([]);
        await b.rotations.disable(K1);
        expect(await a.rotations.state(K1)).toEqual({});
        await expect(a.rotations.enable(K1, 0, new Date(clock))).rejects.toThrow(RangeError);
        expect(await a.rotations.state(K1)).toEqual({});
      });

      test('the running mark is taken once across instances, until released or recorded', async () => {
        await a.keys.insertKey(symmetric(K1));
        expect(await a.rotations.claim(K1, 'ON_DEMAND', new Date(clock), new Date(clock - 5 * MINUTE))).toBe(true);
        expect((await b.rotations.state(K1)).running).toEqual({ startedAt: new Date(clock), type: 'ON_DEMAND' });
        expect(await b.rotations.claim(K1, 'AUTOMATIC', new Date(clock), new Date(clock - 5 * MINUTE))).toBe(false);
        await a.rotations.release(K1);
        expect(await b.rotations.claim(K1, 'AUTOMATIC', new Date(clock), new Date(clock - 5 * MINUTE))).toBe(true);
        await b.rotations.recordRotation(K1, '7:2', 'AUTOMATIC', new Date(clock));
        expect((await a.rotations.state(K1)).running).toBeUndefined();
      });

      test('two instances claiming one key at once: exactly one wins', async () => {
        await a.keys.insertKey(symmetric(K1));
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).rotations.claim(K1, 'ON_DEMAND', new Date(clock), new Date(clock - 5 * MINUTE))),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        // Recording races too: each rotation gets its own version.
        const recorded = await Promise.all([a, b, a, b].map((s, i) => s.rotations.recordRotation(K1, `7:${i + 2}`, 'ON_DEMAND', new Date(clock))));
        expect(recorded.map((m) => m.version).sort()).toEqual([1, 2, 3, 4]);
      });
    });

    describe('import tokens', () => {
      const pending = (keyId: string) => key(keyId, { keyState: 'PendingImport', origin: 'EXTERNAL', handle: '', publicKey: new Uint8Array(0) });
      const token = (n: number, keyId = K1, validMs = DAY) => ({
        tokenHash: new Uint8Array(32).fill(n),
        keyId,
        backendId: 'hsm',
        wrappingHandle: `1:${n}`,
        wrappingKeySpec: 'RSA_2048',
        wrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        publicKey: new Uint8Array([n]),
        createdAt: new Date(clock),
        validTo: new Date(clock + validMs),
      });
      const material = { keyId: K1, handle: '1:99', publicKey: new Uint8Array([9, 9]) };

      test('a token is found, superseded by the next one for its key, used once; using it enables the key atomically', async () => {
        await a.keys.insertKey(pending(K1));
        await a.importTokens.issue(token(1));
        expect(await b.importTokens.find(token(1).tokenHash)).toEqual({ ...token(1), state: 'open', wrappingDeleted: false });
        await b.importTokens.issue(token(2));
        expect((await a.importTokens.find(token(1).tokenHash))?.state).toBe('superseded');
        expect(await a.importTokens.use(token(1).tokenHash, new Date(clock), material)).toBe('token');
        expect(await a.importTokens.use(token(2).tokenHash, new Date(clock), material)).toBe('done');
        expect(a.keys.getKey(K1)).toMatchObject({ keyState: 'Enabled', handle: '1:99', publicKey: new Uint8Array([9, 9]) });
        await eventually(b, () => b.keys.getKey(K1)?.keyState === 'Enabled');
        expect(await b.importTokens.use(token(2).tokenHash, new Date(clock), material)).toBe('token');
        expect(await b.importTokens.find(new Uint8Array(32))).toBeUndefined();
      });

      test('an expired token is refused; a key that no longer waits for material refuses, changing nothing', async () => {
        await a.keys.insertKey(pending(K1));
        await a.importTokens.issue(token(1, K1, MINUTE));
        expect(await b.importTokens.use(token(1).tokenHash, new Date(clock + MINUTE), material)).toBe('token');
        await a.importTokens.issue(token(2));
        await a.keys.setKeyState(K1, 'Disabled');
        expect(await b.importTokens.use(token(2).tokenHash, new Date(clock), material)).toBe('key');
        expect((await a.importTokens.find(token(2).tokenHash))?.state).toBe('open');
        expect(a.keys.getKey(K1)).toMatchObject({ keyState: 'Disabled', handle: '' });
        // Without material only the token ends.
        expect(await b.importTokens.use(token(2).tokenHash, new Date(clock))).toBe('done');
      });

      test('cleanup: used, superseded and expired tokens until their wrapping key is deleted; rows of deleted keys then go', async () => {
        await a.keys.insertKey(pending(K1));
        await a.keys.insertKey(pending(K2));
        await a.importTokens.issue(token(1));
        await a.importTokens.issue(token(2));
        await a.importTokens.issue(token(3, K2, MINUTE));
        expect((await b.importTokens.forCleanup(new Date(clock))).map((t) => t.tokenHash[0])).toEqual([1]);
        expect((await b.importTokens.forCleanup(new Date(clock + MINUTE))).map((t) => t.tokenHash[0]).sort()).toEqual([1, 3]);
        await b.importTokens.wrappingDeleted(token(1).tokenHash);
        expect((await a.importTokens.find(token(1).tokenHash))?.wrappingDeleted).toBe(true);
        await a.keys.setKeyState(K2, 'PendingDeletion', new Date(clock));
        expect(await a.keys.deleteDueKey(K2)).toBe(true);
        await a.importTokens.wrappingDeleted(token(3).tokenHash);
        expect(await b.importTokens.find(token(3).tokenHash)).toBeUndefined();
        expect(await b.importTokens.forCleanup(new Date(clock + MINUTE))).toEqual([]);
      });

      test('two instances using one token at once: exactly one succeeds; two issuing for one key leave one token open', async () => {
        await a.keys.insertKey(pending(K1));
        await a.importTokens.issue(token(1));
        const uses = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).importTokens.use(token(1).tokenHash, new Date(clock), material)),
        );
        expect(uses.filter((u) => u === 'done')).toHaveLength(1);
        expect(uses.filter((u) => u !== 'done')).toEqual(Array.from({ length: 9 }, () => 'token'));

        await a.keys.insertKey(pending(K2));
        await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).importTokens.issue(token(10 + i, K2))));
        const states = await Promise.all(Array.from({ length: 6 }, (_, i) => b.importTokens.find(token(10 + i).tokenHash)));
        expect(states.filter((t) => t?.state === 'open')).toHaveLength(1);
      });
    });

    describe('device-log witness state', () => {
      const SIGN_ECDSA = 0x56;
      const entry = (serial: number, n: number): StoredLogEntry => ({
        serial,
        number: n,
        command: SIGN_ECDSA,
        length: 32,
        sessionKey: 4,
        targetKey: 7,
        secondKey: 0xffff,
        result: SIGN_ECDSA | 0x80,
        tick: 1000 + n,
        digest: new Uint8Array(16).fill(n),
      });
      const objects = new Map([
        [K1, 7],
        [`${K2}/1`, 9],
      ]);
      /** A round that hands back what it was given, carrying every recorded use on. */
      const round = (store: ContractStore, holder: string, entries: StoredLogEntry[]) =>
        store.deviceLogs.reconcileRound('hsm', holder, entries, objects, new Date(clock), (recorded, carried) => ({
          recorded: [...recorded],
          carried: [...carried],
          carry: new Map([...carried, ...recorded]),
        }));

      test('a round keeps the entries and the progress, counting the Sign records and named device uses since the last round by device object', async () => {
        expect(await a.deviceLogs.reconcileState('hsm')).toEqual({ auditSeq: 0, carried: new Map() });
        await audit({ requestId: 'r1', operation: 'Sign', keyId: K1, decision: 'accept' });
        await audit({ requestId: 'r2', operation: 'Sign', keyId: K1, decision: 'deny', gate: 'policy' });
        await audit({ requestId: 'r3', operation: 'Encrypt', keyId: K2, decision: 'accept', summary: { deviceUses: { [`${K2}/1`]: 2 } } });
        await audit({ requestId: 'r4', operation: 'Sign', keyId: K2, decision: 'accept' });
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        const first = await round(a, 'A', [entry(100, 1), entry(100, 2), entry(200, 1)]);
        expect(first).toEqual({
          result: {
            recorded: [
              [7, 1],
              [9, 2],
            ],
            carried: [],
            carry: new Map([
              [7, 1],
              [9, 2],
            ]),
          },
          records: 2,
        });
        expect(await b.deviceLogs.lastEntry(100)).toEqual(entry(100, 2));
        expect(await b.deviceLogs.lastEntry(200)).toEqual(entry(200, 1));
        expect(await b.deviceLogs.lastEntry(300)).toBeUndefined();
        expect(await b.deviceLogs.reconcileState('hsm')).toEqual({
          auditSeq: 4,
          carried: new Map([
            [7, 1],
            [9, 2],
          ]),
        });
        // The next round counts only what was recorded since.
        await audit({ requestId: 'r5', operation: 'Sign', keyId: K1, decision: 'accept' });
        const second = await round(a, 'A', [entry(100, 3)]);
        expect(second.result.recorded).toEqual([[7, 1]]);
        expect(second.result.carried).toEqual([
          [7, 1],
          [9, 2],
        ]);
        expect(await b.deviceLogs.lastEntry(100)).toEqual(entry(100, 3));
        expect((await b.deviceLogs.reconcileState('hsm')).auditSeq).toBe(5);
      });

      test('the lease: one holder at a time, renewable, given up; a round without it is refused and keeps nothing', async () => {
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        expect(await b.deviceLogs.takeLease('hsm', 'B', DEVICE_LOG_LEASE_MS)).toBe(false);
        expect(await b.deviceLogs.takeLease('other', 'B', DEVICE_LOG_LEASE_MS)).toBe(true);
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        await expect(round(b, 'B', [entry(100, 1)])).rejects.toBeInstanceOf(WitnessLeaseLostError);
        expect(await a.deviceLogs.lastEntry(100)).toBeUndefined();
        // Dropping someone else's lease does nothing; dropping one's own frees it.
        await b.deviceLogs.dropLease('hsm', 'B');
        expect(await b.deviceLogs.takeLease('hsm', 'B', DEVICE_LOG_LEASE_MS)).toBe(false);
        await a.deviceLogs.dropLease('hsm', 'A');
        expect(await b.deviceLogs.takeLease('hsm', 'B', DEVICE_LOG_LEASE_MS)).toBe(true);
        await expect(round(a, 'A', [entry(100, 1)])).rejects.toBeInstanceOf(WitnessLeaseLostError);
        await round(b, 'B', [entry(100, 1)]);
        expect(await a.deviceLogs.lastEntry(100)).toEqual(entry(100, 1));
      });

      test('a lease that ran out is taken over, and the stalled holder can keep nothing after', async () => {
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        expect(await b.deviceLogs.takeLease('hsm', 'B', DEVICE_LOG_LEASE_MS)).toBe(false);
        clock += DEVICE_LOG_LEASE_MS;
        await leaseTimePasses(DEVICE_LOG_LEASE_MS);
        expect(await b.deviceLogs.takeLease('hsm', 'B', DEVICE_LOG_LEASE_MS)).toBe(true);
        await expect(round(a, 'A', [entry(100, 1)])).rejects.toBeInstanceOf(WitnessLeaseLostError);
        expect(await b.deviceLogs.lastEntry(100)).toBeUndefined();
      });

      test('a restart (a restore) reconciles only what is recorded after its seq, nothing carried; the next round goes on from there', async () => {
        await audit({ requestId: 'r1', operation: 'Sign', keyId: K1, decision: 'accept' });
        await audit({ requestId: 'r2', operation: 'Sign', keyId: K1, decision: 'accept' });
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        await round(a, 'A', [entry(100, 1)]);
        expect((await a.deviceLogs.reconcileState('hsm')).carried).toEqual(new Map([[7, 2]]));
        await audit({ requestId: 'r3', operation: 'Sign', keyId: K1, decision: 'accept' });
        await b.deviceLogs.restartReconciliation('hsm', 3, new Date(clock));
        expect(await a.deviceLogs.reconcileState('hsm')).toEqual({ auditSeq: 3, carried: new Map() });
        await audit({ requestId: 'r4', operation: 'Sign', keyId: K1, decision: 'accept' });
        const next = await round(a, 'A', [entry(100, 2)]);
        expect(next.result).toMatchObject({ recorded: [[7, 1]], carried: [] });
        expect(await b.deviceLogs.reconcileState('hsm')).toEqual({ auditSeq: 4, carried: new Map([[7, 1]]) });
        // The entries kept before stay kept.
        expect(await b.deviceLogs.lastEntry(100)).toEqual(entry(100, 2));
        await expect(b.deviceLogs.restartReconciliation('hsm', -1, new Date(clock))).rejects.toThrow(RangeError);
        expect((await a.deviceLogs.reconcileState('hsm')).auditSeq).toBe(4);
      });

      test("every field of an entry is kept as read, up to its type's largest value (a tick past 2^31: 25 days after boot, or a reset's 0xffffffff)", async () => {
        const reset: StoredLogEntry = {
          serial: 0xffffffff,
          number: 0xffff,
          command: 0xff,
          length: 0xffff,
          sessionKey: 0xffff,
          targetKey: 0xffff,
          secondKey: 0xffff,
          result: 0xff,
          tick: 0xffffffff,
          digest: new Uint8Array(16).fill(0xff),
        };
        expect(await a.deviceLogs.takeLease('hsm', 'A', DEVICE_LOG_LEASE_MS)).toBe(true);
        await round(a, 'A', [reset]);
        expect(await b.deviceLogs.lastEntry(0xffffffff)).toEqual(reset);
      });

      test('two witnesses taking one lease at once: exactly one gets it', async () => {
        const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).deviceLogs.takeLease('hsm', `W${i}`, DEVICE_LOG_LEASE_MS)));
        expect(taken.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
