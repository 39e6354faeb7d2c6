// The TEE backend offers the key specs its bridge announces in hello, not a fixed list: against
// tee-sim built without secp256k1 and AES and against the bridge daemon with the host build of our TA.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostBridge, type RunningTeeBridge } from '@kmsgate/tee-bridge';
import { startTeeSimulator, type RunningTeeSimulator } from '@kmsgate/tee-sim';
import { TeeBackend } from '../src';

let dir: string;
let sim: RunningTeeSimulator;
let bridge: RunningTeeBridge;
const backends: TeeBackend[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-key-specs-'));
  sim = await startTeeSimulator({ socketPath: join(dir, 'sim.sock'), keyTypes: ['P256', 'ED25519'] });
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage') });
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await sim.close();
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});

function backend(id: string, socketPath: string): TeeBackend {
  const b = new TeeBackend({ id, socketPath });
  backends.push(b);
  return b;
}

it('a bridge without secp256k1: generateKey is UnsupportedOperationException before the TA is asked, even before any hello', async () => {
  const b = backend('tee-p256', sim.socketPath);
  expect(b.client.hello).toBeUndefined();
  await expect(b.generateKey('ECC_SECG_P256K1', 'k1')).rejects.toMatchObject({
    name: 'UnsupportedOperationException',
    message: 'KeySpec ECC_SECG_P256K1 is not supported by custom key store tee-p256.',
  });
  expect(sim.stats().invocations.generateKey).toBe(0);
  expect(sim.ta.keyCount).toBe(0);
  // The hello it took for that is what it offers now.
  expect(b.keySpecs).toEqual(['ECC_NIST_P256', 'ECC_NIST_EDWARDS25519']);
  expect((await b.describe()).keySpecs).toEqual(['ECC_NIST_P256', 'ECC_NIST_EDWARDS25519']);
  await b.generateKey('ECC_NIST_P256', 'p256');
  expect(sim.ta.keyCount).toBe(1);
});

it('the bridge daemon with our TA announces secp256k1 and AES, and the backend offers and generates them', async () => {
  const b = backend('tee-host', bridge.socketPath);
  expect((await b.describe()).keySpecs).toEqual(['ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'SYMMETRIC_DEFAULT']);
  expect(b.keySpecs).toEqual(['ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'SYMMETRIC_DEFAULT']);
  const key = await b.generateKey('ECC_SECG_P256K1', 'k1');
  expect(await b.getPublicKey(key.handle, 'ECC_SECG_P256K1')).toEqual(key.publicKey);
});
