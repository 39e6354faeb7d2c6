// TeeBackend.seal/unseal (SYMMETRIC_DEFAULT keys, docs/cryptography.md) against tee-sim and against
// the bridge daemon with the host build of our TA, over the bridge socket: what each failure becomes
// at the KeyBackend interface, and which ones never reach the TA.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEALED_PAYLOAD_LENGTH } from '@kmsgate/core';
import { startHostBridge } from '@kmsgate/tee-bridge';
import { startTeeSimulator } from '@kmsgate/tee-sim';
import { TeeBackend } from '../src';

type Daemon = { socketPath: string; stats(): { invocations: Record<string, number> }; close(): Promise<void> };
const TARGETS: [string, (dir: string) => Promise<Daemon>][] = [
  ['tee-sim', (dir) => startTeeSimulator({ socketPath: join(dir, 'sim.sock') })],
  ['tee-bridge with the host build of the TA', (dir) => startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage') })],
];

describe.each(TARGETS)('%s', (_name, start) => {
  let dir: string;
  let daemon: Daemon;
  let b: TeeBackend;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tee-seal-'));
    daemon = await start(dir);
    b = new TeeBackend({ id: 'tee', socketPath: daemon.socketPath });
  });
  afterAll(async () => {
    await b.close();
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const invalid = { name: 'InvalidCiphertextException', message: '' };

  it('generates an AES key with no public key, seals 64 bytes into 92 and opens them again', async () => {
    const key = await b.generateKey('SYMMETRIC_DEFAULT', 'sym');
    expect(key.publicKey).toEqual(new Uint8Array(0));
    const payload = new Uint8Array(randomBytes(SEALED_PAYLOAD_LENGTH));
    const sealed = await b.seal(key.handle, payload);
    expect(sealed).toHaveLength(92);
    expect(await b.unseal(key.handle, sealed)).toEqual(payload);
    await expect(b.getPublicKey(key.handle, 'SYMMETRIC_DEFAULT')).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(b.seal(key.handle, payload.subarray(1))).rejects.toThrow(RangeError);
  });

  it('answers InvalidCiphertextException for a sealed key of the wrong length (no TA call), altered, or sealed by another key', async () => {
    const key = await b.generateKey('SYMMETRIC_DEFAULT', 'sym');
    const other = await b.generateKey('SYMMETRIC_DEFAULT', 'sym other');
    const sealed = await b.seal(key.handle, new Uint8Array(SEALED_PAYLOAD_LENGTH));
    const calls = daemon.stats().invocations.unseal ?? 0;
    for (const wrong of [sealed.subarray(1), new Uint8Array(93), new Uint8Array(0)]) await expect(b.unseal(key.handle, wrong)).rejects.toMatchObject(invalid);
    expect(daemon.stats().invocations.unseal).toBe(calls);
    for (const at of [0, 12, 91]) {
      const v = sealed.slice();
      v[at]! ^= 1;
      await expect(b.unseal(key.handle, v)).rejects.toMatchObject(invalid);
    }
    await expect(b.unseal(other.handle, sealed)).rejects.toMatchObject(invalid);
    expect(daemon.stats().invocations.unseal).toBe(calls + 4);
  });

  it('a deleted key is KeyUnavailableException; a signing key is an internal error, not a ciphertext one', async () => {
    const key = await b.generateKey('SYMMETRIC_DEFAULT', 'sym gone');
    const sealed = await b.seal(key.handle, new Uint8Array(SEALED_PAYLOAD_LENGTH));
    await b.deleteKey(key.handle, 'SYMMETRIC_DEFAULT');
    await expect(b.unseal(key.handle, sealed)).rejects.toMatchObject({ name: 'KeyUnavailableException' });
    await expect(b.seal(key.handle, new Uint8Array(SEALED_PAYLOAD_LENGTH))).rejects.toMatchObject({ name: 'KeyUnavailableException' });
    const ec = await b.generateKey('ECC_NIST_P256', 'ec');
    await expect(b.unseal(ec.handle, sealed)).rejects.toMatchObject({ name: 'KMSInternalException' });
    await expect(b.seal(ec.handle, new Uint8Array(SEALED_PAYLOAD_LENGTH))).rejects.toMatchObject({ name: 'KMSInternalException' });
  });
});
