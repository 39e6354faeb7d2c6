import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore } from '../src/api-keys';
import { loadOrCreateSealKey } from '../src/credential-seal';
import { openDb, type Db } from '../src/db';

let dir: string;
let dbPath: string;
let db: Db;
let store: ApiKeyStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-apikeys-'));
  dbPath = join(dir, 'kms.db');
  db = openDb(dbPath);
  store = new ApiKeyStore(db, loadOrCreateSealKey(dir));
});
afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ApiKeyStore.generate', () => {
  test('returns well-formed credentials once', () => {
    const before = Date.now();
    const k = store.generate({ label: 'ci signer', role: 'signer' });
    expect(k.id).toMatch(/^ak_[0-9a-f]{16}$/);
    expect(k.label).toBe('ci signer');
    expect(k.role).toBe('signer');
    expect(k.apiKey).toMatch(/^kmsgate_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(k.apiKey.slice('kmsgate_'.length), 'base64url').length).toBe(32);
    expect(k.accessKeyId).toMatch(/^KG[A-Z2-7]{18}$/);
    expect(k.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(k.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    const other = store.generate({ label: 'x', role: 'admin' });
    expect(other.apiKey).not.toBe(k.apiKey);
    expect(other.accessKeyId).not.toBe(k.accessKeyId);
    expect(other.secretAccessKey).not.toBe(k.secretAccessKey);
  });

  test('expiresAt: the key is found until that instant and refused from it on, on both lookups; list shows it', () => {
    let clock = new Date('2026-03-01T00:00:00Z');
    const timed = new ApiKeyStore(db, loadOrCreateSealKey(dir), { now: () => clock });
    const k = timed.generate({ label: 'temp', role: 'signer', expiresAt: new Date('2026-03-31T00:00:00Z') });
    const forever = timed.generate({ label: 'forever', role: 'admin' });
    expect(k.expiresAt).toEqual(new Date('2026-03-31T00:00:00Z'));
    expect(forever.expiresAt).toBeNull();
    // Same creation instant: list orders them by id, which is random.
    expect(
      timed
        .list()
        .map((r) => [r.label, r.createdAt, r.expiresAt])
        .sort(),
    ).toEqual([
      ['forever', clock, null],
      ['temp', clock, new Date('2026-03-31T00:00:00Z')],
    ]);
    clock = new Date('2026-03-30T23:59:59.999Z');
    expect(timed.findByApiKey(k.apiKey)?.apiKeyId).toBe(k.id);
    expect(timed.findSigV4Secret(k.accessKeyId)?.secretAccessKey).toBe(k.secretAccessKey);
    clock = new Date('2026-03-31T00:00:00Z');
    expect(timed.findByApiKey(k.apiKey)).toBeUndefined();
    expect(timed.findSigV4Secret(k.accessKeyId)).toBeUndefined();
    clock = new Date('2099-01-01T00:00:00Z');
    expect(timed.findByApiKey(forever.apiKey)?.apiKeyId).toBe(forever.id);
  });

  test('refuses an expiry that is not after the creation, or not a date, and stores nothing', () => {
    const clock = new Date('2026-03-01T00:00:00Z');
    const timed = new ApiKeyStore(db, loadOrCreateSealKey(dir), { now: () => clock });
    expect(() => timed.generate({ label: 'x', role: 'signer', expiresAt: clock })).toThrow(
      /expiresAt must be after the key's creation \(2026-03-01T00:00:00.000Z\)/,
    );
    expect(() => timed.generate({ label: 'x', role: 'signer', expiresAt: new Date(NaN) })).toThrow(/expiresAt must be a valid Date/);
    expect(() => timed.generate({ label: 'x', role: 'signer', expiresAt: '2027-01-01' as unknown as Date })).toThrow(TypeError);
    expect(timed.list()).toEqual([]);
  });

  test('checks label and role, naming the field', () => {
    expect(() => store.generate({ label: '', role: 'signer' })).toThrow(RangeError);
    expect(() => store.generate({ label: 'x'.repeat(129), role: 'signer' })).toThrow(/label must be 1 to 128/);
    expect(store.generate({ label: 'x'.repeat(128), role: 'signer' }).label).toHaveLength(128);
    expect(() => store.generate({ label: 'a\nb', role: 'signer' })).toThrow(/control characters/);
    expect(() => store.generate({ label: 7 as unknown as string, role: 'signer' })).toThrow(TypeError);
    expect(() => store.generate({ label: 'x', role: 'root' as 'admin' })).toThrow(/role must be one of admin, signer/);
    expect(() => store.generate(null as unknown as { label: string; role: 'admin' })).toThrow(TypeError);
  });
});

describe('ApiKeyStore lookups', () => {
  test('findByApiKey and findSigV4Secret return the principal; list shows no secrets', () => {
    const k = store.generate({ label: 'alice', role: 'admin' });
    const principal = { apiKeyId: k.id, label: 'alice', role: 'admin' };
    expect(store.findByApiKey(k.apiKey)).toEqual(principal);
    expect(store.findSigV4Secret(k.accessKeyId)).toEqual({ principal, secretAccessKey: k.secretAccessKey });

    const listed = store.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toEqual({
      id: k.id,
      label: 'alice',
      role: 'admin',
      accessKeyId: k.accessKeyId,
      createdAt: k.createdAt,
      revokedAt: null,
      lastUsedAt: null,
      expiresAt: null,
    });
    const text = JSON.stringify(listed);
    expect(text).not.toContain(k.apiKey);
    expect(text).not.toContain(k.secretAccessKey);
  });

  test('unknown or malformed credentials are not found', () => {
    store.generate({ label: 'a', role: 'signer' });
    expect(store.findByApiKey('kmsgate_' + 'A'.repeat(43))).toBeUndefined();
    expect(store.findByApiKey('')).toBeUndefined();
    expect(store.findByApiKey('x'.repeat(10_000))).toBeUndefined();
    expect(store.findSigV4Secret('KGAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(store.findSigV4Secret('AKIDEXAMPLE')).toBeUndefined();
    expect(() => store.findByApiKey(undefined as unknown as string)).toThrow(/apiKey must be a string/);
    expect(() => store.findSigV4Secret(1 as unknown as string)).toThrow(/accessKeyId must be a string/);
  });

  test('a revoked key is never found again, and revoke is idempotent', () => {
    const k = store.generate({ label: 'a', role: 'signer' });
    const keep = store.generate({ label: 'b', role: 'signer' });
    const at = new Date('2026-01-02T03:04:05Z');
    expect(store.revoke(k.id, at)).toBe(true);
    expect(store.findByApiKey(k.apiKey)).toBeUndefined();
    expect(store.findSigV4Secret(k.accessKeyId)).toBeUndefined();
    expect(store.get(k.id)?.revokedAt).toEqual(at);
    expect(store.revoke(k.id, new Date('2027-01-01T00:00:00Z'))).toBe(true);
    expect(store.get(k.id)?.revokedAt).toEqual(at);
    expect(store.revoke('ak_0000000000000000')).toBe(false);
    expect(store.get('ak_0000000000000000')).toBeUndefined();
    expect(store.findByApiKey(keep.apiKey)?.apiKeyId).toBe(keep.id);
  });

  test('a revoke through another connection (the CLI) takes effect on the next lookup', () => {
    const k = store.generate({ label: 'a', role: 'signer' });
    expect(store.findSigV4Secret(k.accessKeyId)).toBeDefined();
    const cliDb = openDb(dbPath);
    try {
      expect(new ApiKeyStore(cliDb).revoke(k.id)).toBe(true);
    } finally {
      cliDb.close();
    }
    expect(store.findByApiKey(k.apiKey)).toBeUndefined();
    expect(store.findSigV4Secret(k.accessKeyId)).toBeUndefined();
  });

  test('touch writes last_used_at at most once a minute', () => {
    const k = store.generate({ label: 'a', role: 'signer' });
    const t0 = new Date('2026-01-01T00:00:00Z');
    expect(store.touch(k.id, t0)).toBe(true);
    expect(store.touch(k.id, new Date(t0.getTime() + 30_000))).toBe(false);
    expect(store.get(k.id)?.lastUsedAt).toEqual(t0);
    const t1 = new Date(t0.getTime() + 61_000);
    expect(store.touch(k.id, t1)).toBe(true);
    expect(store.list()[0]?.lastUsedAt).toEqual(t1);
  });

  test('a store without the seal key can list and revoke but not generate or unseal', () => {
    const k = store.generate({ label: 'a', role: 'signer' });
    const bare = new ApiKeyStore(db);
    expect(bare.list()).toHaveLength(1);
    expect(bare.findByApiKey(k.apiKey)?.apiKeyId).toBe(k.id);
    expect(() => bare.generate({ label: 'b', role: 'signer' })).toThrow(/without the credential sealing key/);
    expect(() => bare.findSigV4Secret(k.accessKeyId)).toThrow(/without the credential sealing key/);
  });

  test('a different seal key cannot unseal, and says so instead of failing open', () => {
    const k = store.generate({ label: 'a', role: 'signer' });
    const wrong = new ApiKeyStore(db, new Uint8Array(32).fill(9));
    expect(() => wrong.findSigV4Secret(k.accessKeyId)).toThrow(/cannot unseal/);
  });

  test('constructor checks its arguments', () => {
    expect(() => new ApiKeyStore({} as Db, new Uint8Array(32))).toThrow(/db must be/);
    expect(() => new ApiKeyStore(db, new Uint8Array(16))).toThrow(RangeError);
    expect(() => new ApiKeyStore(db, [1, 2] as unknown as Uint8Array)).toThrow(/sealKey must be a Uint8Array/);
  });
});

describe('nothing secret reaches the database file', () => {
  test('neither the api key nor the SigV4 secret appears in kms.db or its WAL', () => {
    const generated = [store.generate({ label: 'a', role: 'admin' }), store.generate({ label: 'b', role: 'signer' })];
    const read = () =>
      ['', '-wal', '-shm']
        .map((suffix) => dbPath + suffix)
        .filter((p) => existsSync(p))
        .map((p) => readFileSync(p));
    const check = (files: Buffer[]) => {
      expect(files.length).toBeGreaterThan(0);
      for (const bytes of files) {
        for (const k of generated) {
          for (const secret of [k.apiKey, k.apiKey.slice('kmsgate_'.length), k.secretAccessKey]) {
            expect(bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
          }
          expect(bytes.includes(Buffer.from(k.secretAccessKey, 'base64'))).toBe(false);
          // The access key id is an identifier, not a secret: it is there, which shows the scan works.
          expect(files.some((f) => f.includes(Buffer.from(k.accessKeyId)))).toBe(true);
        }
      }
    };
    check(read()); // while open, the rows may still be in the WAL
    db.close();
    check(read()); // after close, checkpointed into kms.db
  });
});
