import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  VerifyMacCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { Capability, DeviceError, DeviceErrorCode, ObjectType, YubiHsmClient, parseMnemonic } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { parseCiphertext } from '@kmsgate/core';
import { REPO_ROOT } from '../src/gateway';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Issue 10's main path, every step as an operator runs it: `npx kmsgate hsm …` as real processes,
 * the gateway as a real server called through @aws-sdk/client-kms, the simulator over HTTP.
 * fresh device → setup → CreateKey → backup → reset → setup again → restore → the same keys sign
 * with the same public keys; a signature made with the runtime password outside kmsgate is caught
 * by `kmsgate hsm audit`.
 */
const BIN = join(REPO_ROOT, 'node_modules', '.bin', 'kmsgate');
let dir: string;
let dataDir: string;
let sim: RunningSimulator;

function kmsgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(BIN, args, { cwd: REPO_ROOT, env: { ...process.env, KMSGATE_DATA_DIR: dataDir }, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-ceremony-'));
  dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const SPECS = [
  { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
  { spec: 'ECC_SECG_P256K1', algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
  { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_SHA_512', hash: null },
] as const;

async function signAndVerify(kms: KMSClient, keyId: string, publicKey: Uint8Array, c: (typeof SPECS)[number]): Promise<void> {
  const message = Buffer.from(`a message for ${keyId}`);
  const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: c.algorithm }));
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  expect(verify(c.hash, message, key, Buffer.from(Signature!))).toBe(true);
}

it('setup → CreateKey → backup → reset → setup → restore: the same keys sign; a signature outside kmsgate is caught', async () => {
  const mnemonicFile = join(dir, 'mnemonic.txt');
  const secretsDir = join(dir, 'secrets');
  expect((await kmsgate('hsm', 'new-mnemonic', '--connector', sim.url, '--out', mnemonicFile)).code).toBe(0);
  const mnemonic = parseMnemonic(readFileSync(mnemonicFile, 'utf8'));

  const setup = await kmsgate('hsm', 'setup', '--connector', sim.url, '--mnemonic-file', mnemonicFile, '--secrets-dir', secretsDir);
  expect(setup.code).toBe(0);
  expect(setup.stderr).toContain('[1/11] identifying the device…\n');
  expect(setup.stderr).toContain('[7/11] putting authentication key 0x0004 (runtime)…\n');
  expect(setup.stderr).toContain('[11/11] deleting the factory authentication key 1…\n');
  // No secret on the screen: not the mnemonic, not a password.
  const runtimePassword = readFileSync(join(secretsDir, 'runtime.password'), 'utf8').trim();
  for (const secret of [mnemonic, mnemonic.split(' ')[0]! + ' ' + mnemonic.split(' ')[1]!, runtimePassword]) {
    expect(setup.stdout + setup.stderr).not.toContain(secret);
  }
  for (const f of ['runtime', 'keyadmin', 'auditor']) expect(statSync(join(secretsDir, `${f}.password`)).mode & 0o777).toBe(0o600);
  const backend = (parseYaml(setup.stdout) as { backends: Record<string, unknown>[] }).backends[0]!;
  expect(backend).toMatchObject({ id: 'yubihsm', type: 'yubihsm', connectorUrl: sim.url, serial: sim.device.serial, authKeyId: 4, keyAdmin: { authKeyId: 3 } });

  // The factory key is gone; the runtime key can use keys, nothing else.
  const factory = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  await expect(factory.echo(Uint8Array.of(1))).rejects.toBeInstanceOf(DeviceError);
  await factory.close();
  const runtime = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: 4, password: runtimePassword });
  await expect(runtime.generateAsymmetricKey({ label: 'x', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: 12 })).rejects.toMatchObject({
    code: DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  });

  // Keys created through the AWS SDK.
  let t: TestGateway = await startTestGateway({ dataDir, backends: [backend] });
  const keys: { keyId: string; publicKey: Uint8Array; c: (typeof SPECS)[number] }[] = [];
  for (const c of SPECS) {
    const kms = t.client();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY' }));
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId! }));
    keys.push({ keyId: KeyMetadata!.KeyId!, publicKey: PublicKey!, c });
    await signAndVerify(kms, KeyMetadata!.KeyId!, PublicKey!, c);
  }
  // And a symmetric key (CreateKey with no arguments): a wrap key the keyadmin generates.
  const symmetric = (await t.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const context = { vault: 'ceremony' };
  const { CiphertextBlob } = await t
    .client()
    .send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from('survives the device'), EncryptionContext: context }));
  // Rotated on demand: its second key material is a wrap key of its own, backed up and restored too.
  await t.client().send(new RotateKeyOnDemandCommand({ KeyId: symmetric }));
  const rotated = await t.client().send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from('so does the rotated material') }));
  // And an HMAC key: its MAC before the loss is its MAC after the restore.
  const hmac = (await t.client().send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
  const macMessage = Buffer.from('a MAC made before the loss');
  const { Mac } = await t.client().send(new GenerateMacCommand({ KeyId: hmac, Message: macMessage, MacAlgorithm: 'HMAC_SHA_256' }));
  const symmetricObject = Number((t.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(symmetric) as { handle: string }).handle.split(':')[1]);
  const admin = t.admin;
  const objectIds = keys.map((k) => Number((t.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(k.keyId) as { handle: string }).handle.split(':')[1]));
  await t.stop({ keepData: true });
  await expect(runtime.exportWrapped(0x0100, ObjectType.ASYMMETRIC_KEY, objectIds[0]!)).rejects.toMatchObject({
    code: DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  });

  const backupFile = join(dir, 'backup.json');
  const backedUp = await kmsgate('hsm', 'backup', '--connector', sim.url, '--mnemonic-file', mnemonicFile, '--out', backupFile);
  expect(backedUp.stderr).toContain(`and 1 rotated key material(s)`);
  expect(backedUp).toMatchObject({ code: 0, stdout: `backed up 5 key(s) of backend yubihsm from YubiHSM 2 serial ${sim.device.serial} to ${backupFile}\n` });
  expect(statSync(backupFile).mode & 0o777).toBe(0o600);

  // The device is lost: reset and set up again from the mnemonic alone.
  const again = await kmsgate('hsm', 'setup', '--connector', sim.url, '--mnemonic-file', mnemonicFile, '--secrets-dir', secretsDir, '--reset');
  expect(again.code).toBe(0);
  await expect(runtime.getPublicKey(objectIds[0]!)).rejects.toMatchObject({ code: DeviceErrorCode.OBJECT_NOT_FOUND });
  expect(readFileSync(join(secretsDir, 'runtime.password'), 'utf8').trim()).toBe(runtimePassword);

  const restored = await kmsgate('hsm', 'restore', backupFile, '--connector', sim.url, '--mnemonic-file', mnemonicFile);
  expect(restored).toMatchObject({
    code: 0,
    stdout: `restored backend yubihsm onto YubiHSM 2 serial ${sim.device.serial}: 6 key object(s) imported, 0 already there, 0 adopted into the store\n`,
  });

  t = await startTestGateway({ dataDir, backends: [backend] });
  const kms = t.client(admin);
  for (const k of keys) {
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: k.keyId }));
    expect(Buffer.from(PublicKey!)).toEqual(Buffer.from(k.publicKey));
    await signAndVerify(kms, k.keyId, k.publicKey, k.c);
  }
  // The ciphertext made before the device was lost opens on the restored one; a wrong context is
  // refused after the device opened the data key, which kmsgate's record says (deviceUses).
  const opened = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }));
  expect(Buffer.from(opened.Plaintext!).toString()).toBe('survives the device');
  const openedRotated = await kms.send(new DecryptCommand({ CiphertextBlob: rotated.CiphertextBlob }));
  expect(Buffer.from(openedRotated.Plaintext!).toString()).toBe('so does the rotated material');
  expect((await kms.send(new ListKeyRotationsCommand({ KeyId: symmetric }))).Rotations).toHaveLength(1);
  await expect(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { vault: 'other' } }))).rejects.toMatchObject({
    name: 'InvalidCiphertextException',
  });
  expect((await kms.send(new VerifyMacCommand({ KeyId: hmac, Message: macMessage, MacAlgorithm: 'HMAC_SHA_256', Mac }))).MacValid).toBe(true);
  await t.stop({ keepData: true });

  const auditorFile = join(secretsDir, 'auditor.password');
  const clean = await kmsgate('hsm', 'audit', '--connector', sim.url, '--password-file', auditorFile);
  expect(clean.stderr).toBe('');
  expect(clean.stdout).toContain(`${SPECS.length + 3} device key use(s) matched to kmsgate's audit log\n`);
  expect(clean.stdout).toContain('OK: every key use on the device is accounted for\n');
  expect(clean.code).toBe(0);

  // Someone who learned the runtime password signs without kmsgate.
  await runtime.signEcdsa(objectIds[0]!, createHash('sha256').update('not through kmsgate').digest());
  // … and opens a data key of a symmetric key without kmsgate (the context is not the device's business).
  const parsed = parseCiphertext(CiphertextBlob!);
  await runtime.unwrapData(symmetricObject, parsed.sealed);
  await runtime.close();
  const caught = await kmsgate('hsm', 'audit', '--connector', sim.url, '--password-file', auditorFile);
  expect(caught.code).toBe(1);
  expect(caught.stdout).toMatch(
    new RegExp(
      `UNEXPLAINED: serial ${sim.device.serial} entry #\\d+: SIGN_ECDSA on object 0x${objectIds[0]!.toString(16).padStart(4, '0')} by authentication key 0x0004 \\(tick \\d+\\): signature not recorded by kmsgate\\n`,
    ),
  );
  expect(caught.stdout).toMatch(
    new RegExp(
      `UNEXPLAINED: serial ${sim.device.serial} entry #\\d+: UNWRAP_DATA on object 0x${symmetricObject.toString(16).padStart(4, '0')} by authentication key 0x0004 \\(tick \\d+\\): data wrap not recorded by kmsgate\\n`,
    ),
  );
}, 600_000);
