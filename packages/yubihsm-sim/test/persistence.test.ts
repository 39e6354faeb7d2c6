// State survives a restart when a state file is given, is written atomically, and a failed write
// undoes the change instead of answering success for something that would be lost.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Algorithm,
  Capability,
  Command,
  DeviceErrorCode,
  DeviceInfo,
  GenerateAsymmetricKey,
  GetObjectInfo,
  GetPublicKey,
  ListObjects,
  ObjectType,
  SignEcdsa,
  SignEddsa,
} from '@kmsgate/yubihsm';
import { startSimulator } from '../src';
import { deviceCode, plain, TestSession } from './helpers/client';
import { digest, publicKeyFromDevice, verifyEcdsa, verifyEd25519 } from './helpers/verify';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

async function generate(s: TestSession, algorithm: number, id = 0): Promise<number> {
  const req = { id, label: label('persist'), domains: 1, capabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA, algorithm };
  return GenerateAsymmetricKey.decodeResponse(await s.send(Command.GENERATE_ASYMMETRIC_KEY, GenerateAsymmetricKey.encodeRequest(req))).id;
}

async function publicKey(s: TestSession, keyId: number): Promise<Uint8Array> {
  return GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId }))).publicKey;
}

test('keys survive a restart from the state file and still sign for the same public key', async () => {
  const statePath = join(dir, 'state.json');
  const first = await startSimulator({ host: '127.0.0.1', port: 0, statePath, serial: 99 });
  const s1 = await TestSession.open(first.url);
  const ec = await generate(s1, Algorithm.EC_P256);
  const ed = await generate(s1, Algorithm.EC_ED25519);
  const ecPub = await publicKey(s1, ec);
  const edPub = await publicKey(s1, ed);
  const infoBefore = await s1.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: ec, type: ObjectType.ASYMMETRIC_KEY }));
  await first.close();

  const second = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  try {
    expect(DeviceInfo.decodeResponse(await plain(second.url, Command.DEVICE_INFO)).serial).toBe(99);
    const s2 = await TestSession.open(second.url);
    expect(await publicKey(s2, ec)).toEqual(ecPub);
    expect(await publicKey(s2, ed)).toEqual(edPub);
    expect(await s2.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: ec, type: ObjectType.ASYMMETRIC_KEY }))).toEqual(infoBefore);

    const message = label('signed after restart');
    const ecSig = SignEcdsa.decodeResponse(
      await s2.send(Command.SIGN_ECDSA, SignEcdsa.encodeRequest({ keyId: ec, digest: digest('sha256', message) })),
    ).signature;
    expect(verifyEcdsa(publicKeyFromDevice(Algorithm.EC_P256, ecPub), 'sha256', message, ecSig)).toBe(true);
    const edSig = SignEddsa.decodeResponse(await s2.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: ed, message }))).signature;
    expect(verifyEd25519(publicKeyFromDevice(Algorithm.EC_ED25519, edPub), message, edSig)).toBe(true);
  } finally {
    await second.close();
  }
});

test('the file is private (0600), has no leftovers, and says what it holds', async () => {
  const statePath = join(dir, 'state.json');
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  const s = await TestSession.open(sim.url);
  await generate(s, Algorithm.EC_P256);
  await sim.close();
  expect(statSync(statePath).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir)).toEqual(['state.json']);
  const json = JSON.parse(readFileSync(statePath, 'utf8')) as { format: string; note: string; objects: unknown[] };
  expect(json.format).toBe('kmsgate-yubihsm-sim/1');
  expect(json.note).toMatch(/private keys/);
  expect(json.objects).toHaveLength(2);
});

test('deletions, sequence numbers and RESET_DEVICE persist too', async () => {
  const statePath = join(dir, 'state.json');
  let sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  let s = await TestSession.open(sim.url);
  await generate(s, Algorithm.EC_P256, 0x50);
  await s.send(Command.DELETE_OBJECT, new Uint8Array([0, 0x50, ObjectType.ASYMMETRIC_KEY]));
  await generate(s, Algorithm.EC_P256, 0x50);
  await sim.close();

  sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  s = await TestSession.open(sim.url);
  expect(ListObjects.decodeResponse(await s.send(Command.LIST_OBJECTS, ListObjects.encodeRequest({ id: 0x50 }))).objects).toEqual([
    { id: 0x50, type: ObjectType.ASYMMETRIC_KEY, sequence: 1 },
  ]);
  await s.send(Command.RESET_DEVICE);
  await sim.close();

  sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  expect(sim.device.objectCount()).toBe(1);
  await sim.close();
});

test('without a state file nothing survives', async () => {
  const a = await startSimulator({ host: '127.0.0.1', port: 0 });
  const key = await generate(await TestSession.open(a.url), Algorithm.EC_P256);
  await a.close();
  const b = await startSimulator({ host: '127.0.0.1', port: 0 });
  expect(await deviceCode(publicKey(await TestSession.open(b.url), key))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  await b.close();
  expect(readdirSync(dir)).toEqual([]);
});

test('a serial option overrides and replaces the saved one', async () => {
  const statePath = join(dir, 'state.json');
  await (await startSimulator({ host: '127.0.0.1', port: 0, statePath, serial: 1 })).close();
  await (await startSimulator({ host: '127.0.0.1', port: 0, statePath, serial: 2 })).close();
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  expect(sim.device.serial).toBe(2);
  await sim.close();
});

test('a corrupt state file stops startup with a clear error instead of wiping the keys', async () => {
  const statePath = join(dir, 'state.json');
  writeFileSync(statePath, '{"format":"kmsgate-yubihsm-sim/1","serial":"x"}');
  await expect(startSimulator({ host: '127.0.0.1', port: 0, statePath })).rejects.toThrow(/state file .* is not valid: serial/);
  writeFileSync(statePath, 'not json');
  await expect(startSimulator({ host: '127.0.0.1', port: 0, statePath })).rejects.toThrow(/is not valid/);
  expect(readFileSync(statePath, 'utf8')).toBe('not json');
});

test('when the state cannot be written the command fails with STORAGE_FAILED and changes nothing', async () => {
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const statePath = join(sub, 'state.json');
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  try {
    const s = await TestSession.open(sim.url);
    rmSync(sub, { recursive: true });
    expect(await deviceCode(generate(s, Algorithm.EC_P256, 0x60))).toBe(DeviceErrorCode.STORAGE_FAILED);
    expect(sim.device.objectCount()).toBe(1);
    mkdirSync(sub);
    await generate(s, Algorithm.EC_P256, 0x60);
    expect(existsSync(statePath)).toBe(true);
  } finally {
    await sim.close();
  }
});
