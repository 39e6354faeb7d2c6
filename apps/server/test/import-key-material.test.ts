import { constants, createCipheriv, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { Capability, ObjectType, YubiHsmClient, authKeyOf } from '@kmsgate/yubihsm';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * AWS's import flow for asymmetric keys end to end: the real @aws-sdk/client-kms against the real
 * server and the YubiHSM 2 simulator over HTTP. Key material is made and wrapped here with
 * node:crypto exactly as AWS's developer guide has an importer do it, and every signature is
 * checked against the original public key, never with kmsgate code.
 */
const HOUR = 60 * 60 * 1000;
let t: TestGateway;
let kms: KMSClient;
let offset = 0;

beforeAll(async () => {
  t = await startTestGateway({ now: () => new Date(Date.now() + offset) });
  kms = t.client();
});
afterAll(() => t.stop());

const device = () => t.gateway.backends.simulators.get('yubihsm')!.device;
const pkcs8Of = (k: KeyObject) => new Uint8Array(k.export({ type: 'pkcs8', format: 'der' }));
const spkiOf = (k: KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }));
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** What an importer does with the GetParametersForImport public key (AWS: "Encrypt key material"). */
function wrap(algorithm: string, wrappingSpki: Uint8Array, pkcs8: Uint8Array): Uint8Array {
  const key = createPublicKey({ key: Buffer.from(wrappingSpki), format: 'der', type: 'spki' });
  const oaepHash = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
  const rsa = (data: Uint8Array) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  if (algorithm.startsWith('RSAES')) return new Uint8Array(rsa(pkcs8));
  const aes = randomBytes(32);
  const cipher = createCipheriv('id-aes256-wrap-pad', aes, Buffer.from('a65959a6', 'hex'));
  return new Uint8Array(Buffer.concat([rsa(aes), cipher.update(pkcs8), cipher.final()]));
}

async function externalKey(spec: 'ECC_NIST_P256' | 'ECC_SECG_P256K1' | 'ECC_NIST_P384' = 'ECC_NIST_P256'): Promise<string> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }));
  return KeyMetadata!.KeyId!;
}

async function parameters(keyId: string, algorithm: 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_256' = 'RSA_AES_KEY_WRAP_SHA_256') {
  const p = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' }));
  return { token: p.ImportToken!, publicKey: p.PublicKey!, validTo: p.ParametersValidTo!, algorithm };
}

/** A raw ImportKeyMaterial, so each refusal's __type and message are seen as sent. */
function importRaw(
  keyId: string,
  token: Uint8Array,
  material: Uint8Array,
  extra: Record<string, unknown> = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
) {
  return t.call('ImportKeyMaterial', { KeyId: keyId, ImportToken: b64(token), EncryptedKeyMaterial: b64(material), ...extra });
}

async function state(keyId: string) {
  return (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
}

async function signAndVerify(keyId: string, publicKey: KeyObject): Promise<void> {
  const message = Buffer.from(`signed with imported key ${keyId}`);
  const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
  expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(Signature!))).toBe(true);
}

describe('CreateKey with Origin EXTERNAL', () => {
  it('makes a key PendingImport with no device object; it cannot sign or show a public key yet', async () => {
    const objects = device().objectCount();
    const keyId = await externalKey();
    expect(device().objectCount()).toBe(objects);
    const meta = await state(keyId);
    expect(meta).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false, KeySpec: 'ECC_NIST_P256' });
    expect(meta.ExpirationModel).toBeUndefined();
    const arn = meta.Arn!;
    await expect(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${arn} is pending import.`,
    });
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
  });

  it('is refused for the TEE backend and for external key stores', async () => {
    const tee = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL', CustomKeyStoreId: 'tee' });
    expect(tee.json).toEqual({
      __type: 'UnsupportedOperationException',
      message: 'Custom key store tee (tee) cannot import key material: create keys with Origin EXTERNAL in a YubiHSM 2 backend.',
    });
    const xks = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL_KEY_STORE' });
    expect(xks.json).toMatchObject({ __type: 'UnsupportedOperationException' });
    const symmetric = await t.call('CreateKey', { Origin: 'EXTERNAL' });
    expect(symmetric.json).toEqual({
      __type: 'UnsupportedOperationException',
      message: 'Origin EXTERNAL is supported for asymmetric key specs only, not SYMMETRIC_DEFAULT.',
    });
  });

  it('can be scheduled for deletion before import; cancelling returns it to PendingImport; deletion leaves the device alone', async () => {
    const keyId = await externalKey();
    expect((await t.call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 })).json).toMatchObject({ KeyState: 'PendingDeletion' });
    await t.call('CancelKeyDeletion', { KeyId: keyId });
    expect((await state(keyId)).KeyState).toBe('PendingImport');
    await t.call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    const objects = device().objectCount();
    offset = 8 * 24 * HOUR;
    try {
      expect((await t.gateway.sweepDeletions()).deleted).toContain(keyId);
    } finally {
      offset = 0;
    }
    expect(device().objectCount()).toBe(objects);
  });
});

describe('GetParametersForImport and ImportKeyMaterial', () => {
  it.each([
    ['ECC_NIST_P256', 'prime256v1', 'RSA_AES_KEY_WRAP_SHA_256'],
    ['ECC_SECG_P256K1', 'secp256k1', 'RSAES_OAEP_SHA_256'],
  ] as const)('imports a %s key (%s) wrapped with %s; it signs, verified with the original public key', async (spec, curve, algorithm) => {
    const original = generateKeyPairSync('ec', { namedCurve: curve });
    const keyId = await externalKey(spec);
    const objects = device().objectCount();
    const p = await parameters(keyId, algorithm);
    expect(device().objectCount()).toBe(objects + 1);
    expect(p.validTo.getTime() - Date.now()).toBeGreaterThan(23 * HOUR);
    expect(createPublicKey({ key: Buffer.from(p.publicKey), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(2048);

    const done = await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: p.token,
        EncryptedKeyMaterial: wrap(algorithm, p.publicKey, pkcs8Of(original.privateKey)),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    expect(done.KeyId).toBe((await state(keyId)).Arn);
    // The imported key is in the device; the wrapping key is gone from it.
    expect(device().objectCount()).toBe(objects + 1);
    expect(await state(keyId)).toMatchObject({ KeyState: 'Enabled', Enabled: true, Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(new Uint8Array((await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!)).toEqual(spkiOf(original.publicKey));
    await signAndVerify(keyId, original.publicKey);

    // The audit record names the key but keeps neither the token nor the wrapped material.
    const row = t.db.prepare(`SELECT summary FROM audit_log WHERE operation = 'ImportKeyMaterial' AND key_id = ? AND decision = 'admin'`).get(done.KeyId) as {
      summary: string;
    };
    expect(row.summary).not.toContain(b64(p.token));
    expect(JSON.parse(row.summary)).toMatchObject({ ImportToken: expect.stringMatching(/^\(omitted: \d+ characters\)$/) });
  });

  it('refuses a token that is tampered with, for another key, expired, superseded or used, and bad material; each changes nothing', async () => {
    const original = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyId = await externalKey();
    const other = await externalKey();
    const p = await parameters(keyId);
    const material = () => wrap(p.algorithm, p.publicKey, pkcs8Of(original.privateKey));
    const objects = device().objectCount();
    const unchanged = async () => {
      expect((await state(keyId)).KeyState).toBe('PendingImport');
      expect(device().objectCount()).toBe(objects);
    };

    const tampered = new Uint8Array(p.token);
    tampered[0] = tampered[0]! ^ 1;
    expect((await importRaw(keyId, tampered, material())).json).toEqual({
      __type: 'InvalidImportTokenException',
      message: 'Import token is invalid or is associated with a different KMS key.',
    });
    expect((await importRaw(other, p.token, material())).json).toMatchObject({ __type: 'InvalidImportTokenException' });
    await unchanged();

    const corrupt = material();
    corrupt[300] = corrupt[300]! ^ 1;
    expect((await importRaw(keyId, p.token, corrupt)).json).toMatchObject({ __type: 'InvalidCiphertextException' });
    expect((await importRaw(keyId, p.token, material().subarray(0, 100))).json).toMatchObject({ __type: 'InvalidCiphertextException' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect((await importRaw(keyId, p.token, wrap(p.algorithm, p.publicKey, pkcs8Of(p384.privateKey)))).json).toEqual({
      __type: 'IncorrectKeyMaterialException',
      message: 'The key material is not a ECC_NIST_P256 private key.',
    });
    expect((await importRaw(keyId, p.token, material(), {})).json).toEqual({
      __type: 'ValidationException',
      message: 'ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default).',
    });
    expect((await importRaw(keyId, p.token, material(), { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: Date.now() / 1000 + 3600 })).json).toMatchObject({
      __type: 'UnsupportedOperationException',
    });
    await unchanged();

    // A newer GetParametersForImport supersedes the token; the sweeper removes its wrapping key.
    const newer = await parameters(keyId);
    expect((await importRaw(keyId, p.token, material())).json).toEqual({
      __type: 'InvalidImportTokenException',
      message: 'Import token was superseded by a newer GetParametersForImport for this KMS key.',
    });
    expect((await t.gateway.sweepDeletions()).wrappingKeysDeleted).toBe(1);
    expect(device().objectCount()).toBe(objects);

    // 24 hours later the newer token has expired: refused, and its wrapping key is swept too.
    offset = 24 * HOUR;
    try {
      const expired = await importRaw(keyId, newer.token, wrap(newer.algorithm, newer.publicKey, pkcs8Of(original.privateKey)));
      expect(expired.json).toEqual({
        __type: 'ExpiredImportTokenException',
        message: `Import token expired at ${newer.validTo.toISOString()}; call GetParametersForImport for a new one.`,
      });
      expect((await t.gateway.sweepDeletions()).wrappingKeysDeleted).toBe(1);
    } finally {
      offset = 0;
    }
    expect(device().objectCount()).toBe(objects - 1);
    expect((await state(keyId)).KeyState).toBe('PendingImport');

    // A good import with a fresh token; the same token again is refused.
    const fresh = await parameters(keyId);
    const blob = wrap(fresh.algorithm, fresh.publicKey, pkcs8Of(original.privateKey));
    expect((await importRaw(keyId, fresh.token, blob)).status).toBe(200);
    expect((await importRaw(keyId, fresh.token, blob)).json).toMatchObject({ __type: 'InvalidImportTokenException' });
    await signAndVerify(keyId, original.publicKey);
  });

  it('reimports the same key material into an enabled key and refuses different material, changing nothing', async () => {
    const original = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const keyId = await externalKey('ECC_SECG_P256K1');
    const first = await parameters(keyId, 'RSAES_OAEP_SHA_256');
    await importRaw(keyId, first.token, wrap(first.algorithm, first.publicKey, pkcs8Of(original.privateKey)));
    const objects = device().objectCount();

    const again = await parameters(keyId, 'RSAES_OAEP_SHA_256');
    const stranger = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect((await importRaw(keyId, again.token, wrap(again.algorithm, again.publicKey, pkcs8Of(stranger.privateKey)))).json).toEqual({
      __type: 'IncorrectKeyMaterialException',
      message: 'The key material is not the key material previously imported into this KMS key.',
    });
    expect((await importRaw(keyId, again.token, wrap(again.algorithm, again.publicKey, pkcs8Of(original.privateKey)))).status).toBe(200);
    expect(device().objectCount()).toBe(objects);
    expect((await state(keyId)).KeyState).toBe('Enabled');
    await signAndVerify(keyId, original.publicKey);
  });

  it("answers AWS's errors for keys and wrapping choices it cannot import", async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const generated = await t.call('GetParametersForImport', {
      KeyId: KeyMetadata!.KeyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    });
    expect(generated.json).toEqual({
      __type: 'UnsupportedOperationException',
      message: `${KeyMetadata!.Arn} origin is AWS_KMS which is not valid for this operation.`,
    });

    const keyId = await externalKey();
    const objects = device().objectCount();
    const ask = (WrappingAlgorithm: string, WrappingKeySpec = 'RSA_2048', id = keyId) =>
      t.call('GetParametersForImport', { KeyId: id, WrappingAlgorithm, WrappingKeySpec });
    expect((await ask('RSAES_PKCS1_V1_5')).json).toMatchObject({
      __type: 'UnsupportedOperationException',
      message: expect.stringContaining('withdrew it on 2023-10-10'),
    });
    expect((await ask('SM2PKE')).json).toMatchObject({ __type: 'UnsupportedOperationException' });
    expect((await ask('RSAES_OAEP_SHA_256', 'SM2')).json).toMatchObject({ __type: 'UnsupportedOperationException' });
    expect((await ask('RSA_OAEP')).json).toMatchObject({ __type: 'ValidationException' });
    const { KeyMetadata: rsa } = await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }));
    expect((await ask('RSAES_OAEP_SHA_256', 'RSA_2048', rsa!.KeyId)).json).toMatchObject({
      __type: 'UnsupportedOperationException',
      message: expect.stringContaining('RSA private keys need RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256'),
    });
    expect(device().objectCount()).toBe(objects);

    const signer = t.newKey('signer');
    const refused = await t.call(
      'GetParametersForImport',
      { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' },
      { 'x-api-key': signer.apiKey },
    );
    expect(refused.json).toMatchObject({ __type: 'AccessDeniedException' });
  });
});

describe('an RSA key, wrapped with RSA_AES_KEY_WRAP under an RSA-4096 wrapping key', () => {
  it('imports and signs with RSASSA-PSS', async () => {
    const original = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }));
    const keyId = KeyMetadata!.KeyId!;
    const p = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_1', WrappingKeySpec: 'RSA_4096' }));
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: p.ImportToken,
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        EncryptedKeyMaterial: wrap('RSA_AES_KEY_WRAP_SHA_1', p.PublicKey!, pkcs8Of(original.privateKey)),
      }),
    );
    const message = Buffer.from('imported RSA');
    const digest = createHash('sha256').update(message).digest();
    const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
    expect(verify('sha256', message, { key: original.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(Signature!))).toBe(
      true,
    );
  });
});

describe('with the least-privilege layout of `kmsgate hsm setup`', () => {
  /** The runtime and key admin authentication keys exactly as the layout gives them, on a fresh simulator. */
  async function layoutGateway(keyAdmin: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-import-layout-'));
    const sim = await startSimulator({ host: '127.0.0.1', port: 0 });
    const factory = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
    for (const role of ['runtime', 'keyadmin'] as const) {
      const k = authKeyOf(role);
      await factory.putAuthenticationKey({
        id: k.id,
        label: role,
        domains: 1,
        capabilities: k.capabilities,
        delegatedCapabilities: k.delegatedCapabilities,
        password: `${role}-pw`,
      });
      writeFileSync(join(dir, role), `${role}-pw`, { mode: 0o600 });
    }
    await factory.close();
    const gateway = await startTestGateway({
      backends: [
        {
          id: 'hsm',
          type: 'yubihsm',
          connectorUrl: sim.url,
          authKeyId: authKeyOf('runtime').id,
          passwordFile: join(dir, 'runtime'),
          ...(keyAdmin ? { keyAdmin: { authKeyId: authKeyOf('keyadmin').id, passwordFile: join(dir, 'keyadmin') } } : {}),
        },
      ],
    });
    return {
      gateway,
      sim,
      async stop() {
        await gateway.stop();
        await sim.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  it('imports with the key admin and signs with the runtime key', async () => {
    const l = await layoutGateway(true);
    try {
      const c = l.gateway.client();
      const original = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const { KeyMetadata } = await c.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }));
      const p = await c.send(
        new GetParametersForImportCommand({ KeyId: KeyMetadata!.KeyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_3072' }),
      );
      const objects = l.sim.device.objectCount();
      await c.send(
        new ImportKeyMaterialCommand({
          KeyId: KeyMetadata!.KeyId,
          ImportToken: p.ImportToken,
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          EncryptedKeyMaterial: wrap('RSA_AES_KEY_WRAP_SHA_256', p.PublicKey!, pkcs8Of(original.privateKey)),
        }),
      );
      expect(l.sim.device.objectCount()).toBe(objects);
      // As a generated key: signing only, and exportable under the backup wrap key.
      const { handle } = l.gateway.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(KeyMetadata!.KeyId) as { handle: string };
      const runtime = new YubiHsmClient({ connectorUrl: l.sim.url, authKeyId: authKeyOf('runtime').id, password: 'runtime-pw' });
      try {
        expect((await runtime.getObjectInfo(Number(handle.split(':')[1]), ObjectType.ASYMMETRIC_KEY)).capabilities).toBe(
          Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
        );
      } finally {
        await runtime.close();
      }
      const message = Buffer.from('imported, signed by the runtime key');
      const { Signature } = await c.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(verify('sha256', message, { key: original.publicKey, dsaEncoding: 'der' }, Buffer.from(Signature!))).toBe(true);
    } finally {
      await l.stop();
    }
  });

  it('without a key admin, the runtime key cannot make a wrapping key: refused, nothing left behind', async () => {
    const l = await layoutGateway(false);
    try {
      const c = l.gateway.client();
      const { KeyMetadata } = await c.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }));
      const objects = l.sim.device.objectCount();
      await expect(
        c.send(new GetParametersForImportCommand({ KeyId: KeyMetadata!.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })),
      ).rejects.toMatchObject({ name: 'KMSInternalException' });
      expect(l.sim.device.objectCount()).toBe(objects);
      expect((l.gateway.db.prepare('SELECT COUNT(*) AS n FROM import_tokens').get() as { n: number }).n).toBe(0);
    } finally {
      await l.stop();
    }
  });
});
