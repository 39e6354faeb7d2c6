// The bridge daemon with the host build of the TA, when things go wrong: a rolled back or
// tampered key state, a TA that panics mid-sign or between its two storage writes, full storage,
// and a daemon restarted under load. Answers are checked over the socket, as kmsgate sees them.
import { createHash, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, until } from '../../tee/test/helpers/manual-clock';
import { RawConnection, rawPublicKey, type Response } from '../../tee/test/helpers/raw-bridge';
import { HOST_LIBRARY, hostTeeControls, startHostBridge, type HostTeeControls, type RunningTeeBridge } from '../src';

const STATE_FILE = `private/${Buffer.from('kmsgate.state').toString('hex')}`;
const DIGEST = createHash('sha256').update('kmsgate daemon faults').digest('hex');

let dir: string;
let storage: string;
let bridge: RunningTeeBridge | undefined;
let host: HostTeeControls;
const conns: RawConnection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-bridge-faults-'));
  storage = join(dir, 'storage');
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: storage });
  host = hostTeeControls(HOST_LIBRARY);
});
afterEach(async () => {
  host.hold(false);
  host.clearFaults();
  host.setStorageLimit(0);
  for (const c of conns.splice(0)) c.destroy();
  await bridge?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function session(): Promise<RawConnection> {
  const c = await RawConnection.open(join(dir, 'bridge.sock'));
  conns.push(c);
  await c.hello();
  return c;
}

function teeError(r: Response, teec: string, extra: Record<string, unknown> = {}): void {
  expect(r).toMatchObject({ ok: false, error: { code: 'TEE_ERROR', teec, ...extra } });
}

const counter = async (c: RawConnection) => (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;

describe('a rolled back key state', () => {
  it('is refused for every key command, while counter, random and attestation still answer; it is never overwritten', async () => {
    const c = await session();
    const a = await c.ok<{ handle: string }>('generateKey', { keyType: 'P256', label: 'before the snapshot' });
    const snapshot = readFileSync(join(storage, STATE_FILE));
    const b = await c.ok<{ handle: string }>('generateKey', { keyType: 'ED25519', label: 'after the snapshot' });
    expect(await counter(c)).toBe(2);

    // An attacker with the REE file system puts the older state back (the counter is in RPMB).
    writeFileSync(join(storage, STATE_FILE), snapshot);
    const SECURITY = '0xFFFF000F';
    teeError(await c.call('ping', {}), SECURITY, { origin: 4, outcomeUnknown: false });
    teeError(await c.call('generateKey', { keyType: 'P256', label: 'x' }), SECURITY);
    teeError(await c.call('getPublicKey', { handle: a.handle }), SECURITY);
    teeError(await c.call('sign', { handle: a.handle, algorithm: 'ECDSA_SHA_256', input: DIGEST }), SECURITY);
    teeError(await c.call('sign', { handle: b.handle, algorithm: 'ED25519', input: '00' }), SECURITY);
    teeError(await c.call('deleteKey', { handle: a.handle }), SECURITY);
    teeError(await c.call('deleteKey', { handle: b.handle }), SECURITY);
    expect(await counter(c)).toBe(2);
    expect((await c.call('random', { length: 8 })).ok).toBe(true);
    expect((await c.call('getAttestation', { nonce: '01' })).ok).toBe(true);
    expect(readFileSync(join(storage, STATE_FILE))).toEqual(snapshot);
  });

  it('is refused when tampered with, or deleted while the counter says keys were written', async () => {
    const c = await session();
    await c.ok('generateKey', { keyType: 'P256', label: 'x' });
    const sealed = readFileSync(join(storage, STATE_FILE));
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20]! ^= 0x01;
    writeFileSync(join(storage, STATE_FILE), flipped);
    teeError(await c.call('ping', {}), '0xFFFF000F');
    unlinkSync(join(storage, STATE_FILE));
    teeError(await c.call('ping', {}), '0xFFFF000F');
    writeFileSync(join(storage, STATE_FILE), sealed);
    expect(await c.ok('ping', {})).toEqual({});
  });
});

describe('a TA that panics', () => {
  // P-256 signs through the GP API, secp256k1 through mbed TLS: the TA dies after either has signed.
  it.each(['P256', 'SECP256K1'] as const)(
    'mid-sign (%s): TARGET_DEAD with outcome unknown, signed once, the session reopened for the next command',
    async (keyType) => {
      const c = await session();
      const { handle, publicKey } = await c.ok<{ handle: string; publicKey: string }>('generateKey', { keyType, label: 'panic' });
      const signaturesBefore = host.signatures();
      const sessionsBefore = bridge!.session.sessionsOpened;
      host.panicAt('sign');
      const r = await c.call('sign', { handle, algorithm: 'ECDSA_SHA_256', input: DIGEST });
      teeError(r, '0xFFFF3024', { origin: 3, outcomeUnknown: true, retryable: true });
      // The TA made the signature and died before returning it; the daemon did not try again.
      expect(host.signatures()).toBe(signaturesBefore + 1);

      const { signature } = await c.ok<{ signature: string }>('sign', { handle, algorithm: 'ECDSA_SHA_256', input: DIGEST });
      expect(bridge!.session.sessionsOpened).toBe(sessionsBefore + 1);
      expect(host.signatures()).toBe(signaturesBefore + 2);
      expect(
        verify(
          'sha256',
          Buffer.from('kmsgate daemon faults'),
          { key: rawPublicKey(keyType, publicKey), dsaEncoding: 'ieee-p1363' },
          Buffer.from(signature, 'hex'),
        ),
      ).toBe(true);
    },
  );

  it('before its state write: the outcome is unknown to the daemon, and the key is in fact still there', async () => {
    const c = await session();
    const { handle } = await c.ok<{ handle: string }>('generateKey', { keyType: 'ED25519', label: 'panic' });
    host.panicAt('write');
    teeError(await c.call('deleteKey', { handle }), '0xFFFF3024', { outcomeUnknown: true });
    expect((await c.call('getPublicKey', { handle })).ok).toBe(true);
  });

  it('in a command that changes nothing: TARGET_DEAD, and the outcome is known', async () => {
    const c = await session();
    await c.ok('getAttestation', { nonce: '01' });
    host.panicAt('sign');
    teeError(await c.call('getAttestation', { nonce: '02' }), '0xFFFF3024', { origin: 3, outcomeUnknown: false });
    expect((await c.call('getAttestation', { nonce: '03' })).ok).toBe(true);
  });

  it('between the state write and the counter write: the counter is rolled forward on the next load', async () => {
    const c = await session();
    const before = await counter(c);
    host.panicAt('write', 1);
    teeError(await c.call('generateKey', { keyType: 'P256', label: 'torn' }), '0xFFFF3024', { outcomeUnknown: true });
    // The state was written at before + 1, the counter not: the next command loads it and rolls on.
    expect(await c.ok('ping', {})).toEqual({});
    expect(await counter(c)).toBe(before + 1);
  });
});

describe("a TA call that outlives the daemon's call timeout", () => {
  it('is answered DEADLINE_EXCEEDED with outcome unknown; the next command waits for it; it ran once', async () => {
    await bridge!.close();
    const clock = new ManualClock();
    bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: storage, callTimeoutMs: 2_000, clock });
    const c = await session();
    const { handle } = await c.ok<{ handle: string }>('generateKey', { keyType: 'ED25519', label: 'slow' });
    const before = host.signatures();
    host.hold(true);
    try {
      const timers = clock.pending;
      const sign = c.request('sign', { handle, algorithm: 'ED25519', input: 'beef' });
      // The call has started once its timeout timer is set; the TA holds it.
      await until(() => clock.pending > timers);
      clock.advance(1_999);
      await new Promise((r) => setImmediate(r));
      expect(c.drain()).toEqual([]);
      clock.advance(1);
      expect(await c.answer(sign)).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED', outcomeUnknown: true, retryable: true } });
      expect(host.signatures()).toBe(before);
      const ping = c.request('ping', {});
      host.hold(false);
      expect(await c.answer(ping)).toMatchObject({ ok: true });
    } finally {
      host.hold(false);
    }
    // The timed-out sign did run, once, after the TA was let go; it was not sent again.
    expect(host.signatures()).toBe(before + 1);
  });
});

describe('full secure storage', () => {
  it('refuses generateKey with STORAGE_NO_SPACE, stores nothing, and keeps signing with the keys it has', async () => {
    const c = await session();
    const { handle } = await c.ok<{ handle: string }>('generateKey', { keyType: 'ED25519', label: 'existing' });
    const before = await counter(c);
    host.setStorageLimit(1);
    teeError(await c.call('generateKey', { keyType: 'P256', label: 'no room' }), '0xFFFF3041', { origin: 4, outcomeUnknown: false });
    expect(await counter(c)).toBe(before);
    expect((await c.call('sign', { handle, algorithm: 'ED25519', input: 'abcd' })).ok).toBe(true);
    host.setStorageLimit(0);
    expect((await c.call('generateKey', { keyType: 'P256', label: 'room again' })).ok).toBe(true);
  });
});

it('a daemon restarted under load: answered signatures verify, the rest fail, the keys and counter survive', async () => {
  const c = await session();
  const { handle, publicKey } = await c.ok<{ handle: string; publicKey: string }>('generateKey', { keyType: 'ED25519', label: 'restart' });
  const signaturesBefore = host.signatures();
  const ids = Array.from({ length: 40 }, (_, i) => c.request('sign', { handle, algorithm: 'ED25519', input: Buffer.from(`m${i}`).toString('hex') }));
  const closing = bridge!.close();
  const answers = await Promise.all(ids.map((id) => c.answer(id).catch(() => undefined)));
  await closing;
  let answered = 0;
  for (const [i, a] of answers.entries()) {
    if (!a) continue;
    if (!a.ok) throw new Error(`sign ${i} failed: ${a.error.code}`);
    answered++;
    expect(verify(null, Buffer.from(`m${i}`), rawPublicKey('ED25519', publicKey), Buffer.from((a.result as { signature: string }).signature, 'hex'))).toBe(
      true,
    );
  }
  // Requests not yet started were dropped with the connection, never run; at most the one running
  // when the daemon stopped was signed without an answer.
  expect(host.signatures() - signaturesBefore - answered).toBeGreaterThanOrEqual(0);
  expect(host.signatures() - signaturesBefore - answered).toBeLessThanOrEqual(1);
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: storage });
  const d = await session();
  expect(await d.ok('getPublicKey', { handle })).toEqual({ keyType: 'ED25519', publicKey });
  expect(await counter(d)).toBe(1);
});
