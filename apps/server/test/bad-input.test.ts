import { CreateKeyCommand, ListKeysCommand, SignCommand } from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Every bad request gets an AWS-shaped error (status, `__type`, X-Amzn-ErrorType, message)
 * and changes nothing: no key appears, and the device holds no new object.
 */
let t: TestGateway;
let keyId: string;
let edKeyId: string;

async function keyCount(): Promise<number> {
  const r = await t.call('ListKeys', { Limit: 1000 });
  return r.json.Keys.length;
}

function deviceObjects(): number {
  const sim = t.gateway.backends.simulators.get('yubihsm')!;
  return sim.device.objectCount();
}

beforeAll(async () => {
  t = await startTestGateway();
  keyId = (await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).json.KeyMetadata.KeyId;
  edKeyId = (await t.call('CreateKey', { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' })).json.KeyMetadata.KeyId;
});
afterAll(async () => { await t.stop(); });

let before: { keys: number; objects: number };
beforeEach(async () => { before = { keys: await keyCount(), objects: deviceObjects() }; });
afterEach(async () => { expect({ keys: await keyCount(), objects: deviceObjects() }).toEqual(before); });

function expectAwsError(r: { status: number; headers: Headers; json: any }, type: string, status = 400): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toContain('application/x-amz-json-1.1');
  expect(r.headers.get('x-amzn-errortype')).toBe(type);
  expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.json.__type).toBe(type);
}

const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64');

describe('malformed requests', () => {
  it('malformed JSON → SerializationException', async () => {
    const r = await t.call('CreateKey', '{"KeySpec": "ECC_NIST_P256",');
    expectAwsError(r, 'SerializationException');
  });

  it.each([
    ['CreateKey', { KeySpec: 5, KeyUsage: 'SIGN_VERIFY' }],
    ['CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: ['SIGN_VERIFY'] }],
    ['ListKeys', { Limit: '10' }],
    ['Sign', { KeyId: 'x', Message: 12, SigningAlgorithm: 'ECDSA_SHA_256' }],
    ['Sign', { KeyId: 'x', Message: '%%%not-base64', SigningAlgorithm: 'ECDSA_SHA_256' }],
    ['Sign', { KeyId: 'x', Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_256', DryRun: 'true' }],
  ])('wrong JSON type in %s %j → SerializationException', async (op, body) => {
    expectAwsError(await t.call(op, body), 'SerializationException');
  });

  it('unknown or missing X-Amz-Target → UnknownOperationException', async () => {
    const r = await t.call('DoSomethingElse', {});
    expectAwsError(r, 'UnknownOperationException');
    const r2 = await t.call('CreateKey', {}, { 'x-amz-target': 'SomeOtherService.CreateKey' });
    expectAwsError(r2, 'UnknownOperationException');
  });

  it('a body over the size limit → 413 RequestEntityTooLargeException', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: 'A'.repeat(600 * 1024), SigningAlgorithm: 'ECDSA_SHA_256' });
    expectAwsError(r, 'RequestEntityTooLargeException', 413);
  });
});

describe('validation (AWS wording)', () => {
  it('unknown enum values', async () => {
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P999', KeyUsage: 'SIGN_VERIFY' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe(
      "1 validation error detected: Value 'ECC_NIST_P999' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: " +
      '[ECC_NIST_EDWARDS25519, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, HMAC_224, HMAC_256, HMAC_384, HMAC_512, ML_DSA_44, ML_DSA_65, ML_DSA_87, ML_KEM_1024, ML_KEM_512, ML_KEM_768, RSA_2048, RSA_3072, RSA_4096, SM2, SYMMETRIC_DEFAULT]');
    const r2 = await t.call('Sign', { KeyId: keyId, Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_1', MessageType: 'HASH' });
    expectAwsError(r2, 'ValidationException');
    expect(r2.json.message).toMatch(/^2 validation errors detected: Value 'HASH' at 'messageType' .*; Value 'ECDSA_SHA_1' at 'signingAlgorithm' /);
  });

  it('a message over 4096 bytes', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: b64(4097), SigningAlgorithm: 'ECDSA_SHA_256' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
  });

  it('missing required members', async () => {
    const r = await t.call('Sign', {});
    expect(r.json.message).toBe(
      "3 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
      "Value null at 'message' failed to satisfy constraint: Member must not be null; " +
      "Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
  });

  it('a digest of the wrong length', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: b64(31), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe('Digest is invalid length for algorithm ECDSA_SHA_256.');
  });

  it('an algorithm that does not fit the key spec', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_384' });
    expectAwsError(r, 'InvalidKeyUsageException');
    expect(r.json.message).toBe('Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.');
    const r2 = await t.call('Sign', { KeyId: edKeyId, Message: b64(4), SigningAlgorithm: 'RSASSA_PSS_SHA_256' });
    expectAwsError(r2, 'InvalidKeyUsageException');
  });

  it('an Ed25519 algorithm with the wrong message type', async () => {
    const r = await t.call('Sign', { KeyId: edKeyId, Message: b64(64), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe('Message type DIGEST is incompatible with signing algorithm ED25519_SHA_512.');
  });
});

describe('keys that are malformed, missing or of the wrong kind', () => {
  it('a malformed key id → NotFoundException Invalid keyId', async () => {
    const r = await t.call('Sign', { KeyId: 'fake-key-id', Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_256' });
    expectAwsError(r, 'NotFoundException');
    expect(r.json.message).toBe("Invalid keyId 'fake-key-id'");
  });

  it('a well-formed key id that does not exist', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const r = await t.call('DescribeKey', { KeyId: id });
    expectAwsError(r, 'NotFoundException');
    expect(r.json.message).toBe(`Key 'arn:aws:kms:us-east-1:111122223333:key/${id}' does not exist`);
    const r2 = await t.call('GetPublicKey', { KeyId: 'alias/nope' });
    expect(r2.json.message).toBe('Alias arn:aws:kms:us-east-1:111122223333:alias/nope is not found.');
  });

  it('CreateKey for encryption (Sign with an ENCRYPT_DECRYPT key cannot happen)', async () => {
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe('KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256');
    const sym = await t.call('CreateKey', {});
    expectAwsError(sym, 'UnsupportedOperationException');
    const noUsage = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256' });
    expect(noUsage.json.message).toBe('You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  });

  it('reserved or duplicate tags, and alias names without the alias/ prefix', async () => {
    const reserved = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] });
    expectAwsError(reserved, 'TagException');
    expect(reserved.json.message).toBe('Tags beginning with aws: are reserved');
    const dup = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'a', TagValue: '2' }] });
    expectAwsError(dup, 'TagException');
    expect(dup.json.message).toBe('Duplicate tag keys');
    for (const op of ['CreateAlias', 'DeleteAlias']) {
      const r = await t.call(op, { AliasName: 'no-prefix', TargetKeyId: keyId });
      expectAwsError(r, 'ValidationException');
      expect(r.json.message).toBe('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
    }
    expectAwsError(await t.call('CreateAlias', { AliasName: 'alias/aws/mine', TargetKeyId: keyId }), 'InvalidAliasNameException');
  });

  it('an alias that exists already, or does not exist', async () => {
    expect((await t.call('CreateAlias', { AliasName: 'alias/taken', TargetKeyId: keyId })).status).toBe(200);
    const again = await t.call('CreateAlias', { AliasName: 'alias/taken', TargetKeyId: edKeyId });
    expectAwsError(again, 'AlreadyExistsException');
    expect(again.json.message).toBe('An alias with the name arn:aws:kms:us-east-1:111122223333:alias/taken already exists');
    expect((await t.call('DescribeKey', { KeyId: 'alias/taken' })).json.KeyMetadata.KeyId).toBe(keyId);
    const missing = await t.call('DeleteAlias', { AliasName: 'alias/never' });
    expectAwsError(missing, 'NotFoundException');
    expect(missing.json.message).toBe('Alias arn:aws:kms:us-east-1:111122223333:alias/never is not found.');
  });

  it('an invalid ListKeys marker', async () => {
    const r = await t.call('ListKeys', { Marker: 'bm90LWEtbWFya2Vy' });
    expectAwsError(r, 'InvalidMarkerException');
  });

  it('DryRun stops after every check passes, before the device', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true });
    expectAwsError(r, 'DryRunOperationException');
    expect(r.json.message).toBe('The request would have succeeded, but the DryRun option is set.');
  });
});

describe('authentication', () => {
  const noAuth = { 'x-api-key': null };

  it('no credential → MissingAuthenticationTokenException', async () => {
    const r = await t.call('ListKeys', {}, noAuth);
    expectAwsError(r, 'MissingAuthenticationTokenException');
    expect(r.json.message).toBe('Missing Authentication Token');
    expectAwsError(await t.call('ListKeys', {}, { 'x-api-key': '' }), 'UnrecognizedClientException');
  });

  it('an unknown or revoked x-api-key → UnrecognizedClientException', async () => {
    expectAwsError(await t.call('ListKeys', {}, { 'x-api-key': 'kmsgate_not-a-real-key' }), 'UnrecognizedClientException');
    const creds = t.newKey('signer');
    expect((await t.call('ListKeys', {}, { 'x-api-key': creds.apiKey })).status).toBe(200);
    t.apiKeys.revoke(creds.id);
    expectAwsError(await t.call('ListKeys', {}, { 'x-api-key': creds.apiKey }), 'UnrecognizedClientException');
  });

  it('a malformed SigV4 Authorization header → IncompleteSignatureException', async () => {
    const r = await t.call('ListKeys', {}, { ...noAuth, authorization: 'AWS4-HMAC-SHA256 Credential=abc' });
    expectAwsError(r, 'IncompleteSignatureException');
    const r2 = await t.call('ListKeys', {}, { ...noAuth, authorization: 'Basic dXNlcjpwYXNz' });
    expect(r2.status).toBe(400);
  });

  it('a wrong secret → InvalidSignatureException, an unknown access key → UnrecognizedClientException', async () => {
    const wrong = t.client({ ...t.admin, secretAccessKey: 'x'.repeat(40) });
    await expect(wrong.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 400 } });
    const unknown = t.client({ ...t.admin, accessKeyId: 'KGAAAAAAAAAAAAAAAAAA' });
    await expect(unknown.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  });

  it('an expired or future-dated SigV4 signature → InvalidSignatureException', async () => {
    const past = t.client(t.admin, { systemClockOffset: -10 * 60 * 1000 });
    await expect(past.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })))
      .rejects.toMatchObject({ name: 'InvalidSignatureException', message: expect.stringContaining('Signature expired') });
    const future = t.client(t.admin, { systemClockOffset: 10 * 60 * 1000 });
    await expect(future.send(new SignCommand({ KeyId: keyId, Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' })))
      .rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  it('a signer cannot create keys', async () => {
    const creds = t.newKey('signer');
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }, { 'x-api-key': creds.apiKey });
    expectAwsError(r, 'AccessDeniedException');
  });
});
