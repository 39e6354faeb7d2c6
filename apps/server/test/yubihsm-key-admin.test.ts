import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, GetPublicKeyCommand, ScheduleKeyDeletionCommand, SignCommand } from '@aws-sdk/client-kms';
import { Capability, ObjectType, YubiHsmClient } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { parseConfig } from '../src/config';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * A YubiHSM 2 backend with two credentials (docs/configuration.md `keyAdmin`): keys are created
 * and destroyed with the key admin, everything else runs with a key that can only sign.
 */
const RUNTIME = { id: 0x21, password: 'runtime-pw' };
const KEYADMIN = { id: 0x22, password: 'keyadmin-pw' };

let sim: RunningSimulator;
let dir: string;
let t: TestGateway | undefined;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-keyadmin-'));
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  const factory = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  await factory.putAuthenticationKey({
    id: RUNTIME.id,
    label: 'runtime',
    domains: 1,
    capabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA,
    delegatedCapabilities: 0n,
    password: RUNTIME.password,
  });
  await factory.putAuthenticationKey({
    id: KEYADMIN.id,
    label: 'keyadmin',
    domains: 1,
    capabilities: Capability.GENERATE_ASYMMETRIC_KEY | Capability.DELETE_ASYMMETRIC_KEY,
    delegatedCapabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA | Capability.EXPORTABLE_UNDER_WRAP,
    password: KEYADMIN.password,
  });
  await factory.close();
  for (const [name, pw] of [
    ['runtime', RUNTIME.password],
    ['keyadmin', KEYADMIN.password],
  ])
    writeFileSync(join(dir, name!), pw!, { mode: 0o600 });
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function backend(keyAdmin: boolean): Record<string, unknown> {
  return {
    id: 'hsm',
    type: 'yubihsm',
    connectorUrl: sim.url,
    authKeyId: RUNTIME.id,
    passwordFile: join(dir, 'runtime'),
    ...(keyAdmin ? { keyAdmin: { authKeyId: KEYADMIN.id, passwordFile: join(dir, 'keyadmin') } } : {}),
  };
}

it('creates keys with the key admin (exportable under wrap), signs with the runtime key, deletes with the key admin', async () => {
  t = await startTestGateway({ backends: [backend(true)] });
  const kms = t.client();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const keyId = KeyMetadata!.KeyId!;
  const handle = t.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(keyId) as { handle: string };
  const objectId = Number(handle.handle.split(':')[1]);
  const runtime = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: RUNTIME.id, password: RUNTIME.password });
  try {
    const info = await runtime.getObjectInfo(objectId, ObjectType.ASYMMETRIC_KEY);
    expect(info.capabilities).toBe(Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP);
  } finally {
    await runtime.close();
  }
  const message = Buffer.from('signed by the runtime key');
  const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  expect(verify('sha256', message, createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), Buffer.from(Signature!))).toBe(true);
  await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
});

it('without keyAdmin, a runtime key that cannot generate makes CreateKey fail and leaves no key behind', async () => {
  t = await startTestGateway({ backends: [backend(false)] });
  await expect(t.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
    name: 'KMSInternalException',
  });
  expect((t.db.prepare('SELECT COUNT(*) AS n FROM keys').get() as { n: number }).n).toBe(0);
});

it('refuses a keyAdmin that is the runtime key itself, or has no password source', () => {
  const env = { KMSGATE_DATA_DIR: dir } as NodeJS.ProcessEnv;
  expect(() =>
    parseConfig({ backends: [{ ...backend(false), keyAdmin: { authKeyId: RUNTIME.id, passwordFile: join(dir, 'keyadmin') } }] }, 'test', env),
  ).toThrow('backends.0.keyAdmin.authKeyId: keyAdmin must be another authentication key than authKeyId');
  expect(() => parseConfig({ backends: [{ ...backend(false), keyAdmin: { authKeyId: KEYADMIN.id } }] }, 'test', env)).toThrow(
    'backends.0.keyAdmin: set exactly one of passwordFile or passwordEnv',
  );
});
