/**
 * The ciphertext format of docs/cryptography.md, checked against that page with node:crypto alone:
 * the sealing backend is stood in for by AES-256-GCM under a fixed test key (the device's part is
 * the YubiHSM 2 contract's, packages/yubihsm/test/device-contract.test.ts).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SEALED_PAYLOAD_LENGTH, canonicalContext, decryptSymmetric, encryptSymmetric, parseCiphertext } from '../src';

const KEY_ID = '0b5f7c1e-6a2d-4e3b-9c8f-7d1a2b3c4e5f';
const SEAL_KEY = randomBytes(32);

/** A stand-in backend: authenticated, so any altered sealed byte fails as UNWRAP_DATA would. */
const seal = async (payload: Uint8Array) => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', SEAL_KEY, iv);
  return new Uint8Array(Buffer.concat([iv, c.update(payload), c.final(), c.getAuthTag()]));
};
const unseal = async (sealed: Uint8Array) => {
  const d = createDecipheriv('aes-256-gcm', SEAL_KEY, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]));
  } catch {
    throw Object.assign(new Error('unseal'), { type: 'InvalidCiphertextException' });
  }
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const invalid = { type: 'InvalidCiphertextException', message: '' };

describe('canonical encryption context', () => {
  it('is count, then length-prefixed key and value per entry, sorted by key', () => {
    expect(hex(canonicalContext({ b: '2', a: '1' }))).toBe('0002' + '0001' + '61' + '0001' + '31' + '0001' + '62' + '0001' + '32');
    expect(hex(canonicalContext(undefined))).toBe('0000');
    expect(hex(canonicalContext({}))).toBe('0000');
  });

  it('is unambiguous where concatenation is not', () => {
    expect(hex(canonicalContext({ ab: 'c' }))).not.toBe(hex(canonicalContext({ a: 'bc' })));
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF5E is EF BD 9E in UTF-8, U+1F600 is F0 9F 98 80; in UTF-16 the emoji (D83D…) sorts first.
    const c = canonicalContext({ '\u{1F600}': 'x', '\uFF5E': 'y' });
    expect(hex(c.subarray(2, 7))).toBe('0003efbd9e');
  });

  it('keeps a key named __proto__ as an entry', () => {
    const ctx = Object.create(null) as Record<string, string>;
    ctx['__proto__'] = 'v';
    expect(Buffer.from(canonicalContext(ctx)).includes(Buffer.from('__proto__'))).toBe(true);
  });

  it('refuses a key or value longer than its 2-byte length prefix', () => {
    expect(() => canonicalContext({ k: 'x'.repeat(65536) })).toThrow(expect.objectContaining({ type: 'ValidationException' }));
  });
});

describe('version 1 ciphertext', () => {
  const context = { tenant: 'acme' };

  it('has the documented layout, digest and AAD', async () => {
    let sealedPayload: Uint8Array | undefined;
    let payloadSeen: Uint8Array | undefined;
    const plaintext = randomBytes(4096);
    const blob = await encryptSymmetric(KEY_ID, 0, plaintext, context, async (p) => {
      payloadSeen = p;
      sealedPayload = p.slice();
      return seal(p);
    });
    // The payload handed to the backend is zeroed once sealed.
    expect(payloadSeen!.every((b) => b === 0)).toBe(true);
    expect(sealedPayload).toHaveLength(SEALED_PAYLOAD_LENGTH);

    const header = blob.subarray(0, 22);
    expect(hex(header)).toBe('01' + KEY_ID.replace(/-/g, '') + '00000000' + '01');
    const n = (blob[22]! << 8) | blob[23]!;
    const sealed = blob.subarray(24, 24 + n);
    expect(blob).toHaveLength(24 + n + 12 + 4096 + 16);

    const ctx = canonicalContext(context);
    const digest = createHash('sha256').update('kmsgate-symmetric-v1').update(header).update(ctx).digest();
    expect(hex(sealedPayload!.subarray(32))).toBe(digest.toString('hex'));
    expect(hex(await unseal(sealed))).toBe(hex(sealedPayload!));

    const d = createDecipheriv('aes-256-gcm', sealedPayload!.subarray(0, 32), blob.subarray(24 + n, 36 + n));
    d.setAAD(Buffer.concat([header, blob.subarray(22, 24), sealed, ctx]));
    d.setAuthTag(blob.subarray(blob.length - 16));
    expect(Buffer.concat([d.update(blob.subarray(36 + n, blob.length - 16)), d.final()]).equals(plaintext)).toBe(true);

    expect(parseCiphertext(blob)).toMatchObject({ keyId: KEY_ID, materialVersion: 0 });
    expect(Buffer.from(await decryptSymmetric(parseCiphertext(blob), { tenant: 'acme' }, unseal)).equals(plaintext)).toBe(true);
  });

  it('refuses another context, and a sealed key moved under another header', async () => {
    const blob = await encryptSymmetric(KEY_ID, 0, new Uint8Array([1, 2, 3]), context, seal);
    await expect(decryptSymmetric(parseCiphertext(blob), { tenant: 'acme2' }, unseal)).rejects.toMatchObject(invalid);
    await expect(decryptSymmetric(parseCiphertext(blob), undefined, unseal)).rejects.toMatchObject(invalid);
    // The same sealed key and body under a header naming material version 1: the digest inside no longer matches.
    const moved = blob.slice();
    moved[20] = 1;
    await expect(decryptSymmetric(parseCiphertext(moved), context, unseal)).rejects.toMatchObject(invalid);
  });

  it('refuses what is too short, of another version or algorithm, or whose lengths do not add up', () => {
    expect(() => parseCiphertext(new Uint8Array(23))).toThrow(expect.objectContaining(invalid));
    const ok = new Uint8Array(24 + 1 + 12 + 16);
    ok[0] = 1;
    ok[21] = 1;
    ok[23] = 1;
    expect(() => parseCiphertext(ok)).not.toThrow();
    for (const [at, value] of [
      [0, 2],
      [21, 2],
      [23, 0],
      [23, 2],
    ] as const) {
      const bad = ok.slice();
      bad[at] = value;
      expect(() => parseCiphertext(bad)).toThrow(expect.objectContaining(invalid));
    }
  });
});
