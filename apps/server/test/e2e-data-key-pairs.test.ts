import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext end to end (docs/cryptography.md,
 * "Data key pairs"): the unmodified AWS SDK against the real server, SQLite file and YubiHSM 2
 * simulator. The pair is checked with node:crypto only: the private key Decrypt returns signs, and
 * the public key the response carries verifies.
 */
let t: TestGateway;
let kms: KMSClient;
let keyId: string;
let arn: string;
const context = { purpose: 'data-key-pair' };

beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
  const created = await kms.send(new CreateKeyCommand({}));
  keyId = created.KeyMetadata!.KeyId!;
  arn = created.KeyMetadata!.Arn!;
});
afterAll(async () => {
  await t?.stop();
});

/** Whether `pkcs8` is the private key of `spki`: it signs, the public key verifies. */
function matches(pkcs8: Uint8Array, spki: Uint8Array, spec: string): boolean {
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const message = Buffer.from(`signed with a ${spec} data key pair`);
  const hash = spec === 'ECC_NIST_EDWARDS25519' ? null : 'sha256';
  return verify(hash, message, publicKey, sign(hash, message, privateKey));
}

const SPECS = [
  ['RSA_2048', 'rsa'],
  ['RSA_3072', 'rsa'],
  ['RSA_4096', 'rsa'],
  ['ECC_NIST_P256', 'ec'],
  ['ECC_NIST_P384', 'ec'],
  ['ECC_NIST_P521', 'ec'],
  ['ECC_SECG_P256K1', 'ec'],
  ['ECC_NIST_EDWARDS25519', 'ed25519'],
] as const;

describe.each(SPECS)('%s', (spec, type) => {
  it('GenerateDataKeyPair: Decrypt of PrivateKeyCiphertextBlob is the PKCS#8 private key of PublicKey', async () => {
    const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: spec, EncryptionContext: context }));
    expect(pair).toMatchObject({ KeyId: arn, KeyPairSpec: spec, KeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const publicKey = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyType).toBe(type);
    expect(matches(pair.PrivateKeyPlaintext!, pair.PublicKey!, spec)).toBe(true);
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext!)).toEqual(Buffer.from(pair.PrivateKeyPlaintext!));
    expect(opened.KeyId).toBe(arn);
  });

  it('GenerateDataKeyPairWithoutPlaintext: no plaintext; Decrypt gives the private key of PublicKey', async () => {
    const pair = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: spec }));
    expect(pair).toMatchObject({ KeyId: arn, KeyPairSpec: spec });
    expect((pair as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext).toBeUndefined();
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }));
    expect(matches(opened.Plaintext!, pair.PublicKey!, spec)).toBe(true);
  });
});

describe('each pair is new', () => {
  it('two calls give two different key pairs', async () => {
    const a = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    const b = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    expect(Buffer.from(a.PublicKey!).equals(Buffer.from(b.PublicKey!))).toBe(false);
  });
});

describe('the audit log', () => {
  it('records the pair spec and context, never the private key', async () => {
    const r = await t.call('GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: context });
    expect(r.status).toBe(200);
    const requestId = r.headers.get('x-amzn-requestid')!;
    const rows = t.db.prepare('SELECT decision, key_id, summary FROM audit_log WHERE request_id = ?').all(requestId) as {
      decision: string;
      key_id: string;
      summary: string;
    }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ decision: 'accept', key_id: keyId });
    expect(JSON.parse(rows[0]!.summary)).toEqual({ EncryptionContext: context, KeyPairSpec: 'ECC_NIST_P256', deviceUses: { [keyId]: 1 } });
    expect(rows[0]!.summary).not.toContain(r.json.PrivateKeyPlaintext);
  });
});

describe('bad input: AWS exception, no key pair', () => {
  const refusal = async (target: string, body: object) => {
    const r = await t.call(target, body);
    expect(r.status).toBe(400);
    return r.json as { __type: string; message: string };
  };

  it.each(['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'])('%s: SM2 and ML-KEM are UnsupportedOperationException', async (op) => {
    expect(await refusal(op, { KeyId: keyId, KeyPairSpec: 'SM2' })).toEqual({
      __type: 'UnsupportedOperationException',
      message: 'KeyPairSpec SM2 is not supported by kmsgate: SM2 key pairs are available only in the AWS China Regions, and kmsgate does not generate them.',
    });
    expect((await refusal(op, { KeyId: keyId, KeyPairSpec: 'ML_KEM_768' })).__type).toBe('UnsupportedOperationException');
  });

  it('a missing or unknown KeyPairSpec is ValidationException', async () => {
    expect(await refusal('GenerateDataKeyPair', { KeyId: keyId })).toEqual({
      __type: 'ValidationException',
      message: "1 validation error detected: Value null at 'keyPairSpec' failed to satisfy constraint: Member must not be null",
    });
    expect((await refusal('GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'RSA_1024' })).message).toMatch(
      /^1 validation error detected: Value 'RSA_1024' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: \[/,
    );
  });

  it('an asymmetric or HMAC key is InvalidKeyUsageException', async () => {
    for (const input of [
      { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
      { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
    ] as const) {
      const other = (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
      expect(await refusal('GenerateDataKeyPair', { KeyId: other.KeyId, KeyPairSpec: 'ECC_NIST_P256' })).toEqual({
        __type: 'InvalidKeyUsageException',
        message: `${other.Arn} key usage is ${input.KeyUsage} which is not valid for GenerateDataKeyPair.`,
      });
    }
  });

  it('a key in a custom key store is UnsupportedOperationException (AWS)', async () => {
    const other = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: 'yubihsm', Origin: 'AWS_CLOUDHSM' }))).KeyMetadata!;
    expect(await refusal('GenerateDataKeyPairWithoutPlaintext', { KeyId: other.KeyId, KeyPairSpec: 'RSA_2048' })).toEqual({
      __type: 'UnsupportedOperationException',
      message: `${other.Arn} origin is AWS_CLOUDHSM which is not valid for this operation.`,
    });
  });

  it('a disabled key is DisabledException; one pending deletion KMSInvalidStateException', async () => {
    const disabled = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
    expect(await refusal('GenerateDataKeyPair', { KeyId: disabled.KeyId, KeyPairSpec: 'ECC_NIST_P256' })).toEqual({
      __type: 'DisabledException',
      message: `${disabled.Arn} is disabled.`,
    });
    const doomed = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));
    expect(await refusal('GenerateDataKeyPair', { KeyId: doomed.KeyId, KeyPairSpec: 'ECC_NIST_P256' })).toEqual({
      __type: 'KMSInvalidStateException',
      message: `${doomed.Arn} is pending deletion.`,
    });
  });

  it('Recipient is UnsupportedOperationException; DryRun is DryRunOperationException', async () => {
    expect(
      (await refusal('GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } }))
        .__type,
    ).toBe('UnsupportedOperationException');
    expect(await refusal('GenerateDataKeyPairWithoutPlaintext', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', DryRun: true })).toEqual({
      __type: 'DryRunOperationException',
      message: 'The request would have succeeded, but the DryRun option is set.',
    });
  });

  it('the private key decrypts only under the context it was bound to', async () => {
    const pair = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext: context }));
    const blob = Buffer.from(pair.PrivateKeyCiphertextBlob!).toString('base64');
    expect(await refusal('Decrypt', { CiphertextBlob: blob })).toEqual({ __type: 'InvalidCiphertextException', message: '' });
    expect(await refusal('Decrypt', { CiphertextBlob: blob, EncryptionContext: { purpose: 'other' } })).toEqual({
      __type: 'InvalidCiphertextException',
      message: '',
    });
  });

  it('a signer key outside its scope gets AccessDeniedException', async () => {
    const scoped = t.apiKeys.generate({ label: 'scoped', role: 'signer', scope: ['alias/nothing-here'] });
    const r = await t.call('GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' }, { 'x-api-key': scoped.apiKey });
    expect(r.json.__type).toBe('AccessDeniedException');
  });
});
