// The TA's measured attestation through the daemon: where OP-TEE has its attestation PTA
// (CFG_ATTESTATION_PTA=y; in the host build a stand-in that answers as core/pta/attestation.c does),
// the measurement is the PTA's digest for the TA's own UUID; without one it is 32 zero bytes.
// Signatures are checked with node:crypto.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTESTATION_DOMAIN } from '@kmsgate/tee';
import { RawConnection } from '../../tee/test/helpers/raw-bridge';
import { HOST_LIBRARY, TA_UUID, hostTeeControls, startHostBridge, uuidBytes, type HostTeeControls, type RunningTeeBridge } from '../src';

interface Attestation {
  publicKey: string;
  measurement: string;
  nonce: string;
  signature: string;
}

let dir: string;
let bridge: RunningTeeBridge;
let host: HostTeeControls;
let c: RawConnection;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-attestation-pta-'));
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage') });
  host = hostTeeControls(HOST_LIBRARY);
  c = await RawConnection.open(bridge.socketPath);
  await c.hello();
});
afterAll(async () => {
  host.attestationPta(null);
  c.destroy();
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});

async function attest(): Promise<{ att: Attestation; nonce: Buffer }> {
  const nonce = randomBytes(32);
  const att = await c.ok<Attestation>('getAttestation', { nonce: nonce.toString('hex') });
  expect(att.nonce).toBe(nonce.toString('hex'));
  // ECDSA P-256 over SHA-256(domain ‖ nonce ‖ measurement), DER.
  const signed = Buffer.concat([Buffer.from(ATTESTATION_DOMAIN), nonce, Buffer.from(att.measurement, 'hex')]);
  const key = createPublicKey({ key: Buffer.from(att.publicKey, 'hex'), format: 'der', type: 'spki' });
  expect(verify('sha256', signed, key, Buffer.from(att.signature, 'hex'))).toBe(true);
  return { att, nonce };
}

it('without the PTA the measurement is 32 zero bytes: not measured', async () => {
  expect((await attest()).att.measurement).toBe('00'.repeat(32));
});

it('with the PTA the measurement is its digest for this TA, under the same attestation key', async () => {
  const unmeasured = (await attest()).att;
  const digest = createHash('sha256').update('the signed header of a kmsgate TA build').digest();
  host.attestationPta(new Uint8Array(digest));
  const { att } = await attest();
  expect(att.measurement).toBe(digest.toString('hex'));
  expect(att.publicKey).toBe(unmeasured.publicKey);
  // The TA asked the PTA about itself.
  expect(host.attestationPtaAsked()).toEqual(uuidBytes(TA_UUID));
  host.attestationPta(null);
  expect((await attest()).att.measurement).toBe('00'.repeat(32));
});
