import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSealKey, sealCredential, SEAL_KEY_BYTES, SEAL_KEY_FILE, unsealCredential } from '../src/credential-seal';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-seal-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const posix = process.platform !== 'win32';

describe('loadOrCreateSealKey', () => {
  test('creates a 32-byte key with mode 0600 and returns the same key afterwards', () => {
    const dataDir = join(dir, 'data');
    const k1 = loadOrCreateSealKey(dataDir);
    expect(k1).toBeInstanceOf(Uint8Array);
    expect(k1.length).toBe(SEAL_KEY_BYTES);
    const path = join(dataDir, SEAL_KEY_FILE);
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(loadOrCreateSealKey(dataDir)).equals(Buffer.from(k1))).toBe(true);
    // No temp file is left behind.
    expect(readdirSync(dataDir)).toEqual([SEAL_KEY_FILE]);
  });

  (posix ? test : test.skip)('refuses a key file that group or others can read', () => {
    loadOrCreateSealKey(dir);
    const path = join(dir, SEAL_KEY_FILE);
    chmodSync(path, 0o644);
    expect(() => loadOrCreateSealKey(dir)).toThrow(/accessible by group or others \(mode 0644\).*chmod 600/);
    chmodSync(path, 0o640);
    expect(() => loadOrCreateSealKey(dir)).toThrow(/mode 0640/);
    chmodSync(path, 0o400);
    expect(loadOrCreateSealKey(dir).length).toBe(SEAL_KEY_BYTES);
  });

  test('refuses a key file of the wrong length', () => {
    writeFileSync(join(dir, SEAL_KEY_FILE), Buffer.alloc(16), { mode: 0o600 });
    expect(() => loadOrCreateSealKey(dir)).toThrow(/must be exactly 32 bytes, found 16/);
  });

  test('checks its argument', () => {
    expect(() => loadOrCreateSealKey('')).toThrow(TypeError);
    expect(() => loadOrCreateSealKey(42 as unknown as string)).toThrow(/dataDir/);
  });
});

describe('sealCredential / unsealCredential', () => {
  const key = new Uint8Array(SEAL_KEY_BYTES).fill(7);
  const secret = new TextEncoder().encode('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');

  test('round-trips, with a fresh nonce each time', () => {
    const a = sealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', secret);
    const b = sealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', secret);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(a.length).toBe(1 + 12 + secret.length + 16);
    expect(Buffer.from(unsealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', a)).equals(Buffer.from(secret))).toBe(true);
  });

  test('is bound to the access key id, the key and every byte of the blob', () => {
    const sealed = sealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', secret);
    expect(() => unsealCredential(key, 'KGBBBBBBBBBBBBBBBBBB', sealed)).toThrow(/cannot unseal/);
    expect(() => unsealCredential(new Uint8Array(32), 'KGAAAAAAAAAAAAAAAAAA', sealed)).toThrow(/cannot unseal/);
    for (const i of [1, 13, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 1;
      expect(() => unsealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', bad)).toThrow(/cannot unseal/);
    }
    const badVersion = Uint8Array.from(sealed);
    badVersion[0] = 2;
    expect(() => unsealCredential(key, 'KGAAAAAAAAAAAAAAAAAA', badVersion)).toThrow(/unknown format/);
  });

  test('checks its arguments', () => {
    expect(() => sealCredential(new Uint8Array(31), 'x', secret)).toThrow(RangeError);
    expect(() => sealCredential(key, '', secret)).toThrow(/accessKeyId/);
    expect(() => sealCredential(key, 'x', 'text' as unknown as Uint8Array)).toThrow(/plaintext/);
    expect(() => unsealCredential(key, 'x', new Uint8Array(10))).toThrow(/unknown format/);
  });
});
