import { constants, createPublicKey, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as KMS from '@aws-sdk/client-kms';
import { KMS_ERRORS } from '@kmsgate/core';
import { OPERATIONS } from '../src/operations';
import { UNSUPPORTED_OPERATIONS, unsupportedMessage, type UnsupportedOperationName } from '../src/operations/unsupported';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Every command of @aws-sdk/client-kms, read from the package's own commands directory and sent
 * through the real SDK: each gets an AWS-shaped answer, success for the operations kmsgate serves
 * and UnsupportedOperationException (a modeled exception) for the others. None falls through to
 * UnknownOperationException, an HTML page or a hang.
 */
const COMMANDS_DIR = join(dirname(require.resolve('@aws-sdk/client-kms/package.json')), 'dist-types', 'commands');
export const SDK_OPERATIONS = readdirSync(COMMANDS_DIR)
  .filter((f) => f.endsWith('Command.d.ts'))
  .map((f) => f.slice(0, -'Command.d.ts'.length))
  .sort();

const served = Object.keys(OPERATIONS).sort();
const unsupported = Object.keys(UNSUPPORTED_OPERATIONS).sort();

let t: TestGateway;
let kms: KMS.KMSClient;
const ids: Record<string, string> = {};
let signature: Uint8Array;
let ciphertext: Uint8Array;
let importInput: Record<string, unknown>;
let mac: Uint8Array;
const digest = new Uint8Array(32).fill(3);

beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
  const create = async () => (await kms.send(new KMS.CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  ids.key = await create();
  ids.pending = await create();
  ids.doomed = await create();
  ids.second = await create();
  // For the operations after DisableKey in alphabetical order (DisableKeyRotation…): never disabled.
  ids.enabled = await create();
  await kms.send(new KMS.ScheduleKeyDeletionCommand({ KeyId: ids.pending }));
  await kms.send(new KMS.CreateAliasCommand({ AliasName: 'alias/sdk-delete', TargetKeyId: ids.key }));
  await kms.send(new KMS.CreateAliasCommand({ AliasName: 'alias/sdk-update', TargetKeyId: ids.key }));
  signature = (await kms.send(new KMS.SignCommand({ KeyId: ids.key, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!;
  ids.symmetric = (await kms.send(new KMS.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  ciphertext = (await kms.send(new KMS.EncryptCommand({ KeyId: ids.symmetric, Plaintext: digest }))).CiphertextBlob!;
  const external = async () =>
    (await kms.send(new KMS.CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  ids.external = await external();
  ids.imported = await external();
  const p = await kms.send(
    new KMS.GetParametersForImportCommand({ KeyId: ids.imported, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
  );
  const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'der' });
  const wrappingKey = createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' });
  importInput = {
    KeyId: ids.imported,
    ImportToken: p.ImportToken,
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    EncryptedKeyMaterial: publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, pkcs8),
  };
  ids.hmac = (await kms.send(new KMS.CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
  mac = (await kms.send(new KMS.GenerateMacCommand({ KeyId: ids.hmac, Message: digest, MacAlgorithm: 'HMAC_SHA_256' }))).Mac!;
  ids.agreement = (await kms.send(new KMS.CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }))).KeyMetadata!.KeyId!;
});
afterAll(async () => {
  await t.stop();
});

/** Minimal valid input for each served operation; unsupported ones get `{ KeyId }`. */
function inputFor(op: string): Record<string, unknown> {
  const KeyId = ids.key;
  const signing = { KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' };
  const inputs: Record<string, Record<string, unknown>> = {
    CancelKeyDeletion: { KeyId: ids.pending },
    CreateAlias: { AliasName: 'alias/sdk-coverage', TargetKeyId: KeyId },
    CreateKey: { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' },
    Decrypt: { CiphertextBlob: ciphertext },
    DeriveSharedSecret: {
      KeyId: ids.agreement,
      KeyAgreementAlgorithm: 'ECDH',
      PublicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }),
    },
    DeleteAlias: { AliasName: 'alias/sdk-delete' },
    DescribeCustomKeyStores: {},
    DisableKey: { KeyId },
    DisableKeyRotation: { KeyId: ids.symmetric },
    EnableKey: { KeyId },
    EnableKeyRotation: { KeyId: ids.symmetric, RotationPeriodInDays: 90 },
    Encrypt: { KeyId: ids.symmetric, Plaintext: digest },
    GenerateDataKey: { KeyId: ids.symmetric, KeySpec: 'AES_256' },
    GenerateDataKeyPair: { KeyId: ids.symmetric, KeyPairSpec: 'ECC_NIST_P256' },
    GenerateDataKeyPairWithoutPlaintext: { KeyId: ids.symmetric, KeyPairSpec: 'ECC_SECG_P256K1' },
    GenerateDataKeyWithoutPlaintext: { KeyId: ids.symmetric, NumberOfBytes: 64 },
    GenerateMac: { KeyId: ids.hmac, Message: digest, MacAlgorithm: 'HMAC_SHA_256' },
    GenerateRandom: { NumberOfBytes: 16 },
    GetParametersForImport: { KeyId: ids.external, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' },
    ImportKeyMaterial: importInput,
    ListAliases: {},
    ListKeyRotations: { KeyId: ids.symmetric },
    ListKeys: {},
    PutKeyPolicy: { KeyId, Policy: '{"Statement":[]}' },
    ReEncrypt: { CiphertextBlob: ciphertext, DestinationKeyId: ids.symmetric },
    RotateKeyOnDemand: { KeyId: ids.symmetric },
    ScheduleKeyDeletion: { KeyId: ids.doomed, PendingWindowInDays: 7 },
    Sign: signing,
    TagResource: { KeyId, Tags: [{ TagKey: 'team', TagValue: 'sdk' }] },
    UntagResource: { KeyId, TagKeys: ['team'] },
    UpdateAlias: { AliasName: 'alias/sdk-update', TargetKeyId: ids.second },
    UpdateKeyDescription: { KeyId, Description: 'covered' },
    Verify: { ...signing, Signature: signature },
    VerifyMac: { KeyId: ids.hmac, Message: digest, MacAlgorithm: 'HMAC_SHA_256', Mac: mac },
  };
  return inputs[op] ?? { KeyId: ids.enabled };
}

it('knows every SDK command, each exactly once: served or in the unsupported table', () => {
  expect(SDK_OPERATIONS.length).toBeGreaterThanOrEqual(56);
  expect(served.filter((op) => unsupported.includes(op))).toEqual([]);
  expect([...served, ...unsupported].sort()).toEqual(SDK_OPERATIONS);
});

describe.each(SDK_OPERATIONS)('%s', (op) => {
  it('gets an AWS-shaped answer through the SDK', async () => {
    const Command = (KMS as unknown as Record<string, new (input: object) => Parameters<KMS.KMSClient['send']>[0]>)[`${op}Command`]!;
    expect(Command).toBeDefined();
    const result = await kms.send(new Command(inputFor(op))).then(
      (out: { $metadata: { httpStatusCode?: number } }) => ({ ok: true as const, status: out.$metadata.httpStatusCode }),
      (err: KMS.KMSServiceException) => ({
        ok: false as const,
        name: err.name,
        message: err.message,
        status: err.$metadata?.httpStatusCode,
        fault: err.$fault,
      }),
    );
    if (op in OPERATIONS) {
      expect(result).toEqual({ ok: true, status: 200 });
    } else {
      expect(result).toMatchObject({ ok: false, name: 'UnsupportedOperationException', status: 400, fault: 'client' });
      expect(Object.keys(KMS_ERRORS)).toContain((result as { name: string }).name);
      // The SDK reports an empty message (RotateKeyOnDemand, AWS-recorded) as "UnknownError".
      expect((result as { message: string }).message).toBe(unsupportedMessage(op as UnsupportedOperationName) || 'UnknownError');
    }
  });
});

it('says UnsupportedOperationException even with an empty body, and checks the key first where AWS does', async () => {
  for (const op of unsupported) {
    const keyed = 'key' in UNSUPPORTED_OPERATIONS[op as UnsupportedOperationName];
    const r = await t.call(op, keyed ? { KeyId: '00000000-0000-4000-8000-000000000000' } : {});
    expect(r.headers.get('x-amzn-errortype')).toBe(keyed ? 'NotFoundException' : 'UnsupportedOperationException');
  }
  // RotateKeyOnDemand on an asymmetric key: UnsupportedOperationException with an empty message (AWS-recorded).
  const r = await t.call('RotateKeyOnDemand', { KeyId: ids.key });
  expect(r.json).toEqual({ __type: 'UnsupportedOperationException', message: '' });
});
