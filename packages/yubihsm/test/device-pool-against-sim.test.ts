/**
 * A YubiHsmBackend over a pool of simulated devices, each behind its own connector on a real
 * socket. The second device holds the same keys as the first: its state is a copy of the first's
 * under another serial (what restoring a wrapped backup onto a second device gives).
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsError } from '@kmsgate/core';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, type FailoverEvent, ObjectType, YubiHsmBackend, YubiHsmClient } from '../src';

const PASSWORD = 'password';
const SERIAL_A = 31_000_001;
const SERIAL_B = 31_000_002;
const SERIAL_C = 31_000_003;

function verifyEcdsa(spki: Uint8Array, message: Uint8Array, der: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, der);
}

const sha256 = (m: Uint8Array) => new Uint8Array(createHash('sha256').update(m).digest());

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

let dir: string;
let cleanups: (() => Promise<unknown>)[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-pool-'));
  cleanups = [];
});

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function sim(serial: number, statePath: string, port = 0): Promise<RunningSimulator> {
  const s = await startSimulator({ host: '127.0.0.1', port, serial, statePath });
  cleanups.push(() => s.close());
  return s;
}

function backend(options: Partial<ConstructorParameters<typeof YubiHsmBackend>[0]> & { id?: string }): YubiHsmBackend {
  const b = new YubiHsmBackend({ id: 'pool', password: PASSWORD, ...options } as ConstructorParameters<typeof YubiHsmBackend>[0]);
  cleanups.push(() => b.close());
  return b;
}

/** Device A with `count` P-256 keys made through a one-device backend, then B as its copy. */
async function twoDevices(count = 1) {
  const a = await sim(SERIAL_A, join(dir, 'a.json'));
  const single = backend({ id: 'single', connectorUrl: a.url });
  const keys = [];
  for (let i = 0; i < count; i++) keys.push(await single.generateKey('ECC_NIST_P256', `key-${i}`));
  copyFileSync(join(dir, 'a.json'), join(dir, 'b.json'));
  const b = await sim(SERIAL_B, join(dir, 'b.json'));
  return { a, b, keys };
}

describe('a YubiHSM 2 device pool', () => {
  it('spreads signing over its devices, and every signature verifies', async () => {
    const { a, b, keys } = await twoDevices();
    const key = keys[0]!;
    const pool = backend({
      connectors: [
        { url: a.url, serial: SERIAL_A },
        { url: b.url, serial: SERIAL_B },
      ],
    });
    const before = [a.stats().apiRequests, b.stats().apiRequests];
    const messages = Array.from({ length: 40 }, (_, i) => Uint8Array.of(i, 1, 2));
    const sigs = await Promise.all(messages.map((m) => pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(m), key.publicKey)));
    sigs.forEach((sig, i) => expect(verifyEcdsa(key.publicKey, messages[i]!, sig)).toBe(true));
    // Both devices did work; neither did it all.
    expect(a.stats().apiRequests - before[0]!).toBeGreaterThan(5);
    expect(b.stats().apiRequests - before[1]!).toBeGreaterThan(5);
    expect(pool.stats()).toMatchObject({ failovers: 0, ambiguousFailovers: 0 });
  });

  it('fails over to the other device when one is down, and takes it back when it returns', async () => {
    const { a, b, keys } = await twoDevices();
    const key = keys[0]!;
    let now = 1_000_000;
    const events: FailoverEvent[] = [];
    const pool = backend({
      connectors: [
        { url: a.url, serial: SERIAL_A },
        { url: b.url, serial: SERIAL_B },
      ],
      now: () => now,
      deviceRetryAfterMs: 5_000,
      onFailover: (e) => events.push(e),
    });
    const sign = (i: number) => pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(i)), key.publicKey);
    await Promise.all([sign(0), sign(1)]);
    const portA = a.port;
    await a.close();

    for (let i = 0; i < 10; i++) expect(verifyEcdsa(key.publicKey, Uint8Array.of(i), await sign(i))).toBe(true);
    // One command found A gone and moved on; after that A rests and is not asked.
    expect(pool.stats().failovers).toBe(1);
    expect(events).toEqual([expect.objectContaining({ serial: SERIAL_A, operation: 'sign', objectId: Number(key.handle.split(':')[1]) })]);
    const d = await pool.describe();
    expect(d.connectionState).toBe('CONNECTED');
    expect(d.devices).toEqual([
      { serial: SERIAL_A, connectionState: 'FAILED', failure: 'network', error: 'connector unreachable' },
      { serial: SERIAL_B, connectionState: 'CONNECTED' },
    ]);

    // A is back on its port; once its rest is over it is probed and used again.
    const again = await sim(SERIAL_A, join(dir, 'a.json'), portA);
    now += 5_000;
    await Promise.all([sign(20), sign(21), sign(22), sign(23)]);
    expect(again.stats().apiRequests).toBeGreaterThan(0);
    expect((await pool.describe()).devices!.every((x) => x.connectionState === 'CONNECTED')).toBe(true);
  });

  it('answers KeyUnavailableException only when every device is down', async () => {
    const { a, b, keys } = await twoDevices();
    const key = keys[0]!;
    const pool = backend({
      connectors: [
        { url: a.url, serial: SERIAL_A },
        { url: b.url, serial: SERIAL_B },
      ],
    });
    await a.close();
    await b.close();
    const err = await rejection(pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(1)), key.publicKey));
    expect(err).toMatchObject({ type: 'KeyUnavailableException', message: 'The YubiHSM 2 backend pool cannot be reached; retry later.' });
    const d = await pool.describe();
    expect(d).toMatchObject({ connectionState: 'FAILED', failure: 'network' });
  });

  it('never signs on a device that holds another key under the same object ID', async () => {
    const a = await sim(SERIAL_A, join(dir, 'a.json'));
    const key = await backend({ id: 'single', connectorUrl: a.url }).generateKey('ECC_NIST_P256', 'real');
    const id = Number(key.handle.split(':')[1]);
    // C: same serial set membership, but set up separately: an unrelated key under the same ID.
    const c = await sim(SERIAL_C, join(dir, 'c.json'));
    const setup = new YubiHsmClient({ connectorUrl: c.url, password: PASSWORD });
    await setup.generateAsymmetricKey({ id, label: 'impostor', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
    await setup.close();

    const events: FailoverEvent[] = [];
    const pool = backend({
      connectors: [
        { url: c.url, serial: SERIAL_C },
        { url: a.url, serial: SERIAL_A },
      ],
      onFailover: (e) => events.push(e),
    });
    for (let i = 0; i < 6; i++) {
      const sig = await pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(i)), key.publicKey);
      expect(verifyEcdsa(key.publicKey, Uint8Array.of(i), sig)).toBe(true);
    }
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.serial === SERIAL_C && e.error === 'holds another key' && e.reason === 'not-executed')).toBe(true);

    // With only the impostor, the key is unavailable; deleting it leaves the impostor alone.
    const onlyC = backend({ id: 'only-c', connectors: [{ url: c.url, serial: SERIAL_C }] });
    const err = await rejection(onlyC.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(1)), key.publicKey));
    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({
      type: 'KeyUnavailableException',
      message: `The key material on YubiHSM 2 serial ${SERIAL_C} of backend only-c is not this key's.`,
    });
    await onlyC.deleteKey(key.handle, 'ECC_NIST_P256', key.publicKey);
    expect(new TextDecoder().decode((await onlyC.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).label).replace(/\0+$/, '')).toBe('impostor');
  });

  it('refuses a connector that leads to a device other than the configured serial, and uses the others', async () => {
    const { a, b, keys } = await twoDevices();
    const key = keys[0]!;
    // The first entry claims serial C but its connector leads to B.
    const pool = backend({
      connectors: [
        { url: b.url, serial: SERIAL_C },
        { url: a.url, serial: SERIAL_A },
      ],
    });
    for (let i = 0; i < 4; i++) await pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(i)), key.publicKey);
    const d = await pool.describe();
    expect(d.devices).toEqual([
      { serial: SERIAL_C, connectionState: 'FAILED', failure: 'internal', error: 'wrong device serial' },
      { serial: SERIAL_A, connectionState: 'CONNECTED' },
    ]);
  });

  it('serves a key from a replacement device that holds it (a pool of one, restored elsewhere)', async () => {
    const { b, keys } = await twoDevices();
    const key = keys[0]!;
    const replacement = backend({ connectors: [{ url: b.url, serial: SERIAL_B }] });
    const sig = await replacement.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(9)), key.publicKey);
    expect(verifyEcdsa(key.publicKey, Uint8Array.of(9), sig)).toBe(true);
    // The same device configured with connectorUrl only trusts keys generated on it.
    const legacy = backend({ id: 'legacy', connectorUrl: b.url });
    const err = await rejection(legacy.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(9)), key.publicKey));
    expect(err).toMatchObject({ type: 'KeyUnavailableException' });
    // A pool of one may create keys; a pool of two may not (the others would never get them).
    expect((await replacement.generateKey('ECC_NIST_P256', 'new')).handle).toMatch(new RegExp(`^${SERIAL_B}:`));
  });

  it('refuses to create a key that only one device of the pool would hold', async () => {
    const { a, b } = await twoDevices();
    const pool = backend({
      connectors: [
        { url: a.url, serial: SERIAL_A },
        { url: b.url, serial: SERIAL_B },
      ],
    });
    const objects = [a.device.objectCount(), b.device.objectCount()];
    const err = await rejection(pool.generateKey('ECC_NIST_P256', 'nowhere'));
    expect(err).toMatchObject({ type: 'UnsupportedOperationException' });
    expect((err as KmsError).message).toContain('is a pool of 2 devices');
    expect([a.device.objectCount(), b.device.objectCount()]).toEqual(objects);
  });

  it('deletes a key from every device; with one down it fails, and a retry finishes the job', async () => {
    const { a, b, keys } = await twoDevices();
    const key = keys[0]!;
    const id = Number(key.handle.split(':')[1]);
    const pool = backend({
      connectors: [
        { url: a.url, serial: SERIAL_A },
        { url: b.url, serial: SERIAL_B },
      ],
    });
    const portB = b.port;
    await b.close();
    const objectsA = a.device.objectCount();
    expect(await rejection(pool.deleteKey(key.handle, 'ECC_NIST_P256', key.publicKey))).toMatchObject({ type: 'KeyUnavailableException' });
    expect(a.device.objectCount()).toBe(objectsA - 1);

    const b2 = await sim(SERIAL_B, join(dir, 'b.json'), portB);
    const objectsB = b2.device.objectCount();
    await pool.deleteKey(key.handle, 'ECC_NIST_P256', key.publicKey);
    expect(b2.device.objectCount()).toBe(objectsB - 1);
    const err = await rejection(pool.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', sha256(Uint8Array.of(1)), key.publicKey));
    expect(err).toMatchObject({ type: 'KeyUnavailableException', message: 'The key material is missing from backend pool.' });
    await expect(pool.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY, SERIAL_A)).rejects.toMatchObject({ codeName: 'OBJECT_NOT_FOUND' });
  });

  it('checks its options', () => {
    const url = 'http://127.0.0.1:1';
    expect(() => new YubiHsmBackend({ id: 'x', password: PASSWORD })).toThrow('give exactly one of connectorUrl or connectors');
    expect(() => new YubiHsmBackend({ id: 'x', password: PASSWORD, connectorUrl: url, connectors: [{ url, serial: 1 }] })).toThrow(TypeError);
    expect(() => new YubiHsmBackend({ id: 'x', password: PASSWORD, connectors: [] })).toThrow(RangeError);
    expect(
      () =>
        new YubiHsmBackend({
          id: 'x',
          password: PASSWORD,
          connectors: [
            { url, serial: 1 },
            { url: 'http://127.0.0.1:2', serial: 1 },
          ],
        }),
    ).toThrow('distinct serials');
    expect(() => new YubiHsmBackend({ id: 'x', password: PASSWORD, connectors: [{ url, serial: 2 ** 32 }] })).toThrow(RangeError);
    expect(() => new YubiHsmBackend({ id: 'x', password: PASSWORD, connectors: [{ url, serial: 1 }], serial: 1 })).toThrow(TypeError);
  });
});
