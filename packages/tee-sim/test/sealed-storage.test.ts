// Sealed storage and the rollback counter: keys persist sealed under the device key, the counter
// lives in a separate file and is bound into the sealed state, and any restored, tampered or
// orphaned state file is refused (TEEC_ERROR_SECURITY) and left untouched.
import { createHash, verify } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawConnection, rawPublicKey } from '../../tee/test/helpers/raw-bridge';
import { startTeeSimulator, type RunningTeeSimulator } from '../src';

let dir: string;
let socketPath: string;
let statePath: string;
let sim: RunningTeeSimulator | undefined;
const conns: RawConnection[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tee-sim-storage-'));
  socketPath = join(dir, 'bridge.sock');
  statePath = join(dir, 'state.json');
});
afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  await sim?.close();
  sim = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function restart(): Promise<RunningTeeSimulator> {
  for (const c of conns.splice(0)) c.destroy();
  await sim?.close();
  sim = await startTeeSimulator({ socketPath, statePath });
  return sim;
}

async function session(): Promise<RawConnection> {
  const c = await RawConnection.open(socketPath);
  conns.push(c);
  await c.hello();
  return c;
}

async function generate(c: RawConnection, keyType = 'P256'): Promise<{ handle: string; publicKey: string }> {
  return c.ok('generateKey', { keyType, label: 'storage test' });
}

async function counter(c: RawConnection): Promise<number> {
  return (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;
}

const digest = createHash('sha256').update('m').digest('hex');

function expectSecurity(r: Awaited<ReturnType<RawConnection['call']>>): void {
  expect(r).toMatchObject({ ok: false, error: { code: 'TEE_ERROR', teec: '0xFFFF000F', origin: 4 } });
}

it('keeps keys across restarts, sealed: the state file holds no key material in the clear', async () => {
  await restart();
  let c = await session();
  const key = await generate(c, 'SECP256K1');
  const file = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
  expect(Object.keys(file).sort()).toEqual(['epoch', 'format', 'iv', 'note', 'sealed']);
  expect(JSON.stringify(file)).not.toContain(key.handle);
  expect(statSync(statePath).mode & 0o777).toBe(0o600);
  expect(statSync(`${statePath}.rpmb`).mode & 0o777).toBe(0o600);
  expect(statSync(socketPath).mode & 0o777).toBe(0o600);

  await restart();
  c = await session();
  expect(await c.ok('getPublicKey', { handle: key.handle })).toEqual({ keyType: 'SECP256K1', publicKey: key.publicKey });
  const { signature } = await c.ok<{ signature: string }>('sign', { handle: key.handle, algorithm: 'ECDSA_SHA_256', input: digest });
  expect(verify('sha256', Buffer.from('m'), { key: rawPublicKey('SECP256K1', key.publicKey), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex'))).toBe(
    true,
  );
  expect(await counter(c)).toBe(1);
});

it('refuses a restored older state file (rollback), keeps it as found, and still reports the counter', async () => {
  await restart();
  const c = await session();
  const a = await generate(c);
  copyFileSync(statePath, join(dir, 'backup.json'));
  await generate(c);
  await c.ok('deleteKey', { handle: a.handle });
  expect(await counter(c)).toBe(3);

  copyFileSync(join(dir, 'backup.json'), statePath);
  const s = await restart();
  expect(s.ta.status).toEqual({ ok: false, reason: expect.stringMatching(/rollback detected: .* written at counter 1, but the rollback counter is 3/) });
  const d = await session();
  expectSecurity(await d.call('sign', { handle: a.handle, algorithm: 'ECDSA_SHA_256', input: digest }));
  expectSecurity(await d.call('getPublicKey', { handle: a.handle }));
  expectSecurity(await d.call('generateKey', { keyType: 'P256', label: 'x' }));
  expectSecurity(await d.call('deleteKey', { handle: a.handle }));
  expectSecurity(await d.call('ping', {}));
  expect(await counter(d)).toBe(3);
  expect((await d.call('random', { length: 4 })).ok).toBe(true);
  expect((await d.call('getAttestation', { nonce: '01' })).ok).toBe(true);
  expect(readFileSync(statePath)).toEqual(readFileSync(join(dir, 'backup.json')));
});

it('refuses a state file that was tampered with, sealed by another device, or deleted', async () => {
  await restart();
  const c = await session();
  await generate(c);
  const original = readFileSync(statePath, 'utf8');

  const file = JSON.parse(original) as { sealed: string; epoch: number };
  const flipped = (parseInt(file.sealed.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0');
  writeFileSync(statePath, JSON.stringify({ ...file, sealed: flipped + file.sealed.slice(2) }));
  expect((await restart()).ta.status).toMatchObject({ ok: false, reason: expect.stringMatching(/does not unseal/) });

  // Raising the unauthenticated epoch changes nothing: the sealed copy decides.
  writeFileSync(statePath, JSON.stringify({ ...file, epoch: 99 }));
  expect((await restart()).ta.status).toEqual({ ok: true });

  writeFileSync(statePath, original);
  const rpmb = readFileSync(`${statePath}.rpmb`, 'utf8');
  unlinkSync(`${statePath}.rpmb`);
  expect((await restart()).ta.status).toMatchObject({ ok: false, reason: expect.stringMatching(/device file .* is missing/) });

  writeFileSync(`${statePath}.rpmb`, rpmb);
  unlinkSync(statePath);
  expect((await restart()).ta.status).toMatchObject({ ok: false, reason: expect.stringMatching(/missing but the rollback counter is 1/) });
  writeFileSync(statePath, 'not json');
  expect((await restart()).ta.status).toMatchObject({ ok: false });
});

it('rolls the counter forward after a write that stopped between the state and the counter', async () => {
  await restart();
  const c = await session();
  await generate(c);
  const rpmbAt1 = readFileSync(`${statePath}.rpmb`);
  const key = await generate(c);
  // As if the process died after writing the state (counter 2) but before the counter file.
  writeFileSync(`${statePath}.rpmb`, rpmbAt1);
  const s = await restart();
  expect(s.ta.status).toEqual({ ok: true });
  expect(s.ta.recovered).toMatch(/rolled the counter forward to 2/);
  const d = await session();
  expect(await counter(d)).toBe(2);
  expect((await d.call('getPublicKey', { handle: key.handle })).ok).toBe(true);
});

it('derives a stable attestation key per device: the same across restarts, different for another device', async () => {
  const first = await restart();
  const pub = Buffer.from(first.ta.attestationPublicKey).toString('hex');
  expect(Buffer.from((await restart()).ta.attestationPublicKey).toString('hex')).toBe(pub);
  await sim!.close();
  sim = await startTeeSimulator({ socketPath, statePath: join(dir, 'other.json') });
  expect(Buffer.from(sim.ta.attestationPublicKey).toString('hex')).not.toBe(pub);
});
