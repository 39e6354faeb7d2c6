import { CreateKeyCommand, ListKeysCommand, SignCommand } from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Every bad request gets an AWS-shaped error (status, `__type`, X-Amzn-ErrorType, message)
 * and changes nothing: no key appears, the device holds no new object, and no key's state,
 * description, tags, policy or aliases differ afterwards.
 */
let t: TestGateway;
let keyId: string;
let edKeyId: string;
/** Fixtures in the states and at the limits the wrong-state and limit tests need. */
let disabledKeyId: string;
let pendingKeyId: string;
let fullAliasesKeyId: string;
let fullTagsKeyId: string;
const ARN = (id: string) => `arn:aws:kms:us-east-1:111122223333:key/${id}`;

function deviceObjects(): number {
  const sim = t.gateway.backends.simulators.get('yubihsm')!;
  return sim.device.objectCount();
}

beforeAll(async () => {
  t = await startTestGateway();
  keyId = (await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).json.KeyMetadata.KeyId;
  edKeyId = (await t.call('CreateKey', { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' })).json.KeyMetadata.KeyId;
  const create = async (extra: object = {}) =>
    (await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', ...extra })).json.KeyMetadata.KeyId as string;
  disabledKeyId = await create();
  expect((await t.call('DisableKey', { KeyId: disabledKeyId })).status).toBe(200);
  pendingKeyId = await create();
  expect((await t.call('ScheduleKeyDeletion', { KeyId: pendingKeyId })).status).toBe(200);
  fullAliasesKeyId = await create();
  for (let i = 0; i < 50; i++) expect((await t.call('CreateAlias', { AliasName: `alias/full-${i}`, TargetKeyId: fullAliasesKeyId })).status).toBe(200);
  fullTagsKeyId = await create({ Tags: Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' })) });
  expect((await t.call('CreateAlias', { AliasName: 'alias/taken', TargetKeyId: keyId })).status).toBe(200);
});
afterAll(async () => {
  await t.stop();
});

/**
 * Everything a failed request could have changed: every row of the key, alias and tag tables
 * (read straight from the gateway's SQLite file, which is quicker than the API for a check that
 * runs around every test) and the device's object count.
 */
function state(): unknown {
  const all = (table: string, order: string) => t.db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all();
  return {
    keys: all('keys', 'key_id'),
    aliases: all('aliases', 'alias_name'),
    tags: all('key_tags', 'key_id, tag_key'),
    objects: deviceObjects(),
  };
}

let before: unknown;
beforeEach(() => {
  before = state();
});
afterEach(() => {
  expect(state()).toEqual(before);
});

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

  it('a compressed body → SerializationException naming the encoding, nothing created', async () => {
    const before = (await t.call('ListKeys', {})).json.Keys.length;
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }, { 'content-encoding': 'gzip' });
    expectAwsError(r, 'SerializationException');
    expect(r.json.message).toBe('Content-Encoding gzip is not supported: send the body uncompressed.');
    expect((await t.call('ListKeys', {})).json.Keys.length).toBe(before);
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
        '[ECC_NIST_EDWARDS25519, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, HMAC_224, HMAC_256, HMAC_384, HMAC_512, ML_DSA_44, ML_DSA_65, ML_DSA_87, ML_KEM_1024, ML_KEM_512, ML_KEM_768, RSA_2048, RSA_3072, RSA_4096, SM2, SYMMETRIC_DEFAULT]',
    );
    const r2 = await t.call('Sign', { KeyId: keyId, Message: b64(4), SigningAlgorithm: 'ECDSA_SHA_1', MessageType: 'HASH' });
    expectAwsError(r2, 'ValidationException');
    expect(r2.json.message).toMatch(/^2 validation errors detected: Value 'HASH' at 'messageType' .*; Value 'ECDSA_SHA_1' at 'signingAlgorithm' /);
  });

  it('a message over 4096 bytes', async () => {
    const r = await t.call('Sign', { KeyId: keyId, Message: b64(4097), SigningAlgorithm: 'ECDSA_SHA_256' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe(
      "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
  });

  it('missing required members', async () => {
    const r = await t.call('Sign', {});
    expect(r.json.message).toBe(
      "3 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'message' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null",
    );
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

  it('CreateKey with a key usage the spec does not allow, or its backend does not serve', async () => {
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' });
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe('KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256');
    // The TEE holds no RSA keys at all.
    const rsa = await t.call('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', CustomKeyStoreId: 'tee' });
    expectAwsError(rsa, 'UnsupportedOperationException');
    expect(rsa.json.message).toBe('KeySpec RSA_2048 is not supported by custom key store tee.');
    const noUsage = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256' });
    expect(noUsage.json.message).toBe('You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  });

  it('reserved or duplicate tags, and alias names without the alias/ prefix', async () => {
    const reserved = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] });
    expectAwsError(reserved, 'TagException');
    expect(reserved.json.message).toBe('Tags beginning with aws: are reserved');
    const dup = await t.call('CreateKey', {
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      Tags: [
        { TagKey: 'a', TagValue: '1' },
        { TagKey: 'a', TagValue: '2' },
      ],
    });
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
    await expect(past.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining('Signature expired'),
    });
    const future = t.client(t.admin, { systemClockOffset: 10 * 60 * 1000 });
    await expect(future.send(new SignCommand({ KeyId: keyId, Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
  });

  it('a signer cannot create keys', async () => {
    const creds = t.newKey('signer');
    const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }, { 'x-api-key': creds.apiKey });
    expectAwsError(r, 'AccessDeniedException');
  });
});

/** AWS's sentence for one failed constraint (the validator writes it from the operation's shape). */
const one = (value: string | null, member: string, constraint: string) =>
  `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at '${member}' failed to satisfy constraint: ${constraint}`;
const lengthMax = (n: number) => `Member must have length less than or equal to ${n}`;
const lengthMin = (n: number) => `Member must have length greater than or equal to ${n}`;
const valueMax = (n: number) => `Member must have value less than or equal to ${n}`;
const valueMin = (n: number) => `Member must have value greater than or equal to ${n}`;

describe('field limits of the lifecycle, alias, tag, policy and key store operations (AWS wording)', () => {
  const a = (n: number) => 'a'.repeat(n);
  const cases: [string, string, () => Record<string, unknown>, string][] = [
    ['KeyId empty', 'EnableKey', () => ({ KeyId: '' }), one('', 'keyId', lengthMin(1))],
    ['KeyId too long', 'DisableKey', () => ({ KeyId: a(2049) }), one(a(2049), 'keyId', lengthMax(2048))],
    ['KeyId missing', 'CancelKeyDeletion', () => ({}), one(null, 'keyId', 'Member must not be null')],
    ['PendingWindowInDays 0', 'ScheduleKeyDeletion', () => ({ KeyId: keyId, PendingWindowInDays: 0 }), one('0', 'pendingWindowInDays', valueMin(1))],
    ['PendingWindowInDays 366', 'ScheduleKeyDeletion', () => ({ KeyId: keyId, PendingWindowInDays: 366 }), one('366', 'pendingWindowInDays', valueMax(365))],
    ['Description too long', 'UpdateKeyDescription', () => ({ KeyId: keyId, Description: a(8193) }), one(a(8193), 'description', lengthMax(8192))],
    ['Description missing', 'UpdateKeyDescription', () => ({ KeyId: keyId }), one(null, 'description', 'Member must not be null')],
    ['AliasName too long', 'UpdateAlias', () => ({ AliasName: `alias/${a(251)}`, TargetKeyId: keyId }), one(`alias/${a(251)}`, 'aliasName', lengthMax(256))],
    [
      'AliasName pattern',
      'CreateAlias',
      () => ({ AliasName: 'alias/with space', TargetKeyId: keyId }),
      one('alias/with space', 'aliasName', 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$'),
    ],
    [
      'AliasName empty',
      'DeleteAlias',
      () => ({ AliasName: '' }),
      "2 validation errors detected: Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    ],
    ['ListAliases Limit 0', 'ListAliases', () => ({ Limit: 0 }), one('0', 'limit', valueMin(1))],
    ['ListAliases Limit 1001', 'ListAliases', () => ({ Limit: 1001 }), one('1001', 'limit', valueMax(1000))],
    [
      'TagKey too long',
      'TagResource',
      () => ({ KeyId: keyId, Tags: [{ TagKey: a(129), TagValue: 'v' }] }),
      one(a(129), 'tags.1.member.tagKey', lengthMax(128)),
    ],
    [
      'TagKey empty',
      'TagResource',
      () => ({
        KeyId: keyId,
        Tags: [
          { TagKey: 'ok', TagValue: '' },
          { TagKey: '', TagValue: 'v' },
        ],
      }),
      one('', 'tags.2.member.tagKey', lengthMin(1)),
    ],
    [
      'TagValue too long',
      'TagResource',
      () => ({ KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: a(257) }] }),
      one(a(257), 'tags.1.member.tagValue', lengthMax(256)),
    ],
    ['TagValue missing', 'TagResource', () => ({ KeyId: keyId, Tags: [{ TagKey: 'k' }] }), one(null, 'tags.1.member.tagValue', 'Member must not be null')],
    ['Tags missing', 'TagResource', () => ({ KeyId: keyId }), one(null, 'tags', 'Member must not be null')],
    [
      'CreateKey TagValue too long',
      'CreateKey',
      () => ({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'tag1', TagValue: 'v'.repeat(257) }] }),
      one('v'.repeat(257), 'tags.1.member.tagValue', lengthMax(256)),
    ],
    ['TagKeys member too long', 'UntagResource', () => ({ KeyId: keyId, TagKeys: [a(129)] }), one(a(129), 'tagKeys.1.member', lengthMax(128))],
    ['TagKeys missing', 'UntagResource', () => ({ KeyId: keyId }), one(null, 'tagKeys', 'Member must not be null')],
    ['ListResourceTags Limit 0', 'ListResourceTags', () => ({ KeyId: keyId, Limit: 0 }), one('0', 'limit', valueMin(1))],
    ['Marker empty', 'ListResourceTags', () => ({ KeyId: keyId, Marker: '' }), one('', 'marker', lengthMin(1))],
    ['Marker too long', 'ListKeys', () => ({ Marker: a(1025) }), one(a(1025), 'marker', lengthMax(1024))],
    [
      'Marker pattern',
      'ListKeyPolicies',
      () => ({ KeyId: keyId, Marker: 'mark\u0101' }),
      one('mark\u0101', 'marker', 'Member must satisfy regular expression pattern: [\\u0020-\\u00FF]*'),
    ],
    ['Policy too long', 'PutKeyPolicy', () => ({ KeyId: keyId, Policy: a(131073) }), one(a(131073), 'policy', lengthMax(131072))],
    [
      'Policy pattern',
      'PutKeyPolicy',
      () => ({ KeyId: keyId, Policy: '{"Sid":"\u20ac"}' }),
      one('{"Sid":"\u20ac"}', 'policy', 'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+'),
    ],
    ['Policy missing', 'PutKeyPolicy', () => ({ KeyId: keyId }), one(null, 'policy', 'Member must not be null')],
    [
      'CreateKey Policy pattern',
      'CreateKey',
      () => ({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Policy: '{"\u0001":1}' }),
      one('{"\u0001":1}', 'policy', 'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+'),
    ],
    [
      'PolicyName pattern',
      'GetKeyPolicy',
      () => ({ KeyId: keyId, PolicyName: 'de-fault' }),
      one('de-fault', 'policyName', 'Member must satisfy regular expression pattern: [\\w]+'),
    ],
    ['PolicyName too long', 'PutKeyPolicy', () => ({ KeyId: keyId, PolicyName: a(129), Policy: '{}' }), one(a(129), 'policyName', lengthMax(128))],
    ['ListKeyPolicies Limit 1001', 'ListKeyPolicies', () => ({ KeyId: keyId, Limit: 1001 }), one('1001', 'limit', valueMax(1000))],
    // AWS-recorded (LocalStack snapshot, test_generate_random_invalid_number_of_bytes).
    ['NumberOfBytes 0', 'GenerateRandom', () => ({ NumberOfBytes: 0 }), one('0', 'numberOfBytes', valueMin(1))],
    ['NumberOfBytes 1025', 'GenerateRandom', () => ({ NumberOfBytes: 1025 }), one('1025', 'numberOfBytes', valueMax(1024))],
    ['NumberOfBytes missing', 'GenerateRandom', () => ({}), 'NumberOfBytes is required.'],
    ['CustomKeyStoreId empty', 'GenerateRandom', () => ({ NumberOfBytes: 1, CustomKeyStoreId: '' }), one('', 'customKeyStoreId', lengthMin(1))],
    ['CustomKeyStoreId too long', 'DescribeCustomKeyStores', () => ({ CustomKeyStoreId: a(65) }), one(a(65), 'customKeyStoreId', lengthMax(64))],
    ['CustomKeyStoreName too long', 'DescribeCustomKeyStores', () => ({ CustomKeyStoreName: a(257) }), one(a(257), 'customKeyStoreName', lengthMax(256))],
    ['DescribeCustomKeyStores Limit 0', 'DescribeCustomKeyStores', () => ({ Limit: 0 }), one('0', 'limit', valueMin(1))],
    ['RotationPeriodInDays 89', 'EnableKeyRotation', () => ({ KeyId: keyId, RotationPeriodInDays: 89 }), one('89', 'rotationPeriodInDays', valueMin(90))],
    [
      'several at once',
      'ScheduleKeyDeletion',
      () => ({ KeyId: '', PendingWindowInDays: 400 }),
      "2 validation errors detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '400' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365",
    ],
  ];

  it.each(cases)('%s (%s)', async (_name, op, body, message) => {
    const r = await t.call(op, body());
    expectAwsError(r, 'ValidationException');
    expect(r.json.message).toBe(message);
  });
});

describe('key deletion windows', () => {
  it.each([1, 6, 31, 365])("PendingWindowInDays %i, in the model's range but outside 7-30", async (days) => {
    const r = await t.call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: days });
    expectAwsError(r, 'ValidationException');
    // A real AWS answer (Skyscanner/kms-issuer#8); not in LocalStack's snapshot.
    expect(r.json.message).toBe('PendingWindowInDays must be between 7 and 30');
  });
});

describe('operations on keys in the wrong state', () => {
  it('a disabled key neither signs, verifies nor rotates', async () => {
    for (const [op, body] of [
      ['Sign', { KeyId: disabledKeyId, Message: b64(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }],
      ['Verify', { KeyId: disabledKeyId, Message: b64(32), MessageType: 'DIGEST', Signature: b64(70), SigningAlgorithm: 'ECDSA_SHA_256' }],
      ['EnableKeyRotation', { KeyId: disabledKeyId }],
      ['RotateKeyOnDemand', { KeyId: disabledKeyId }],
    ] as const) {
      const r = await t.call(op, body);
      expectAwsError(r, 'DisabledException');
      expect(r.json.message).toBe(`${ARN(disabledKeyId)} is disabled.`);
    }
  });

  it('a key pending deletion can only be described, listed or have its deletion cancelled', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['EnableKey', {}],
      ['DisableKey', {}],
      ['ScheduleKeyDeletion', { PendingWindowInDays: 7 }],
      ['UpdateKeyDescription', { Description: 'x' }],
      ['TagResource', { Tags: [{ TagKey: 'a', TagValue: 'b' }] }],
      ['UntagResource', { TagKeys: ['t0'] }],
      ['PutKeyPolicy', { Policy: '{}' }],
      ['GetPublicKey', {}],
      ['Sign', { Message: b64(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }],
      ['EnableKeyRotation', {}],
      ['DisableKeyRotation', {}],
    ];
    for (const [op, extra] of cases) {
      const r = await t.call(op, { KeyId: pendingKeyId, ...extra });
      expect({ op, type: r.json.__type, message: r.json.message }).toEqual({
        op,
        type: 'KMSInvalidStateException',
        message: `${ARN(pendingKeyId)} is pending deletion.`,
      });
    }
    for (const [op, body] of [
      ['CreateAlias', { AliasName: 'alias/to-pending', TargetKeyId: pendingKeyId }],
      ['UpdateAlias', { AliasName: 'alias/taken', TargetKeyId: pendingKeyId }],
    ] as const) {
      const r = await t.call(op, body);
      expectAwsError(r, 'KMSInvalidStateException');
      expect(r.json.message).toBe(`${ARN(pendingKeyId)} is pending deletion.`);
    }
  });

  it('CancelKeyDeletion of a key that is not pending deletion', async () => {
    for (const id of [keyId, disabledKeyId]) {
      const r = await t.call('CancelKeyDeletion', { KeyId: id });
      expectAwsError(r, 'KMSInvalidStateException');
      expect(r.json.message).toBe(`${ARN(id)} is not pending deletion.`);
    }
  });

  it('a key that does not exist, for every operation that names one', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const op of [
      'EnableKey',
      'DisableKey',
      'ScheduleKeyDeletion',
      'CancelKeyDeletion',
      'ListResourceTags',
      'GetKeyPolicy',
      'ListKeyPolicies',
      'GetKeyRotationStatus',
      'DisableKeyRotation',
      'ListKeyRotations',
    ]) {
      const r = await t.call(op, { KeyId: ARN(missing) });
      expect({ op, type: r.json.__type, message: r.json.message }).toEqual({ op, type: 'NotFoundException', message: `Key '${ARN(missing)}' does not exist` });
    }
  });
});

describe('alias misuse', () => {
  it('UpdateAlias of an alias that does not exist, is reserved or lacks the prefix', async () => {
    const missing = await t.call('UpdateAlias', { AliasName: 'alias/never', TargetKeyId: keyId });
    expectAwsError(missing, 'NotFoundException');
    expect(missing.json.message).toBe('Alias arn:aws:kms:us-east-1:111122223333:alias/never is not found.');
    expectAwsError(await t.call('UpdateAlias', { AliasName: 'alias/aws/s3', TargetKeyId: keyId }), 'InvalidAliasNameException');
    const prefix = await t.call('UpdateAlias', { AliasName: 'taken', TargetKeyId: keyId });
    expectAwsError(prefix, 'ValidationException');
    expect(prefix.json.message).toBe(
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
    expectAwsError(await t.call('CreateAlias', { AliasName: 'alias/', TargetKeyId: keyId }), 'InvalidAliasNameException');
    expectAwsError(await t.call('DeleteAlias', { AliasName: 'alias/aws/s3' }), 'NotFoundException');
  });

  it('a target named by an alias, where only a key id or key ARN is allowed', async () => {
    const r = await t.call('UpdateAlias', { AliasName: 'alias/taken', TargetKeyId: 'alias/taken' });
    expectAwsError(r, 'NotFoundException');
    expect(r.json.message).toBe("Invalid keyId 'alias/taken'");
  });

  it('a 51st alias for one key (CreateAlias or UpdateAlias)', async () => {
    const created = await t.call('CreateAlias', { AliasName: 'alias/one-too-many', TargetKeyId: fullAliasesKeyId });
    expectAwsError(created, 'LimitExceededException');
    expect(created.json.message).toBe('Aliases per key quota for this account in this region is 50, current usage is 50.');
    expectAwsError(await t.call('UpdateAlias', { AliasName: 'alias/taken', TargetKeyId: fullAliasesKeyId }), 'LimitExceededException');
  });
});

describe('tags: duplicated, reserved, too many (AWS-recorded texts)', () => {
  it.each([
    [
      'duplicate keys',
      [
        { TagKey: 'tag1', TagValue: 'value1' },
        { TagKey: 'tag1', TagValue: 'another-value1' },
      ],
      'Duplicate tag keys',
    ],
    ['lowercase aws: prefix', [{ TagKey: 'aws:key1', TagValue: 'value1' }], 'Tags beginning with aws: are reserved'],
    ['uppercase AWS: prefix', [{ TagKey: 'AWS:key1', TagValue: 'value1' }], 'Tags beginning with aws: are reserved'],
    ['51 in one request', Array.from({ length: 51 }, (_, i) => ({ TagKey: `key${i}`, TagValue: `value${i}` })), 'Too many tags'],
  ])('TagResource and CreateKey: %s', async (_name, tags, message) => {
    const tagged = await t.call('TagResource', { KeyId: keyId, Tags: tags });
    expectAwsError(tagged, 'TagException');
    expect(tagged.json.message).toBe(message);
    const created = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: tags });
    expectAwsError(created, 'TagException');
    expect(created.json.message).toBe(message);
  });

  it('one tag more than a key with 50 may hold', async () => {
    const r = await t.call('TagResource', {
      KeyId: fullTagsKeyId,
      Tags: [
        { TagKey: 't0', TagValue: 'changed' },
        { TagKey: 'new', TagValue: 'v' },
      ],
    });
    expectAwsError(r, 'TagException');
    expect(r.json.message).toBe('Too many tags');
  });
});

describe('key policies, custom key stores, GenerateRandom, unsupported operations', () => {
  it('a policy that is not a JSON object', async () => {
    for (const Policy of ['not json', '[]', 'null', '{"unterminated": ']) {
      expectAwsError(await t.call('PutKeyPolicy', { KeyId: keyId, Policy }), 'MalformedPolicyDocumentException');
      expectAwsError(await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Policy }), 'MalformedPolicyDocumentException');
    }
  });

  it('a policy name other than default', async () => {
    for (const [op, body] of [
      ['GetKeyPolicy', {}],
      ['PutKeyPolicy', { Policy: '{}' }],
    ] as const) {
      const r = await t.call(op, { KeyId: keyId, PolicyName: 'other', ...body });
      expectAwsError(r, 'NotFoundException');
      expect(r.json.message).toBe('No such policy exists');
    }
  });

  it('an unknown custom key store, both filters, a Recipient', async () => {
    expectAwsError(await t.call('DescribeCustomKeyStores', { CustomKeyStoreId: 'cks-0123456789abcdef0' }), 'CustomKeyStoreNotFoundException');
    expectAwsError(await t.call('DescribeCustomKeyStores', { CustomKeyStoreId: 'yubihsm', CustomKeyStoreName: 'x' }), 'ValidationException');
    expectAwsError(await t.call('GenerateRandom', { NumberOfBytes: 8, CustomKeyStoreId: 'nope' }), 'CustomKeyStoreNotFoundException');
    expectAwsError(
      await t.call('GenerateRandom', { NumberOfBytes: 8, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: b64(16) } }),
      'UnsupportedOperationException',
    );
    expectAwsError(
      await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'nope' }),
      'CustomKeyStoreNotFoundException',
    );
  });

  it('bad markers for the new listings', async () => {
    expectAwsError(await t.call('ListResourceTags', { KeyId: fullTagsKeyId, Marker: 'dDA' }), 'InvalidMarkerException');
    expectAwsError(await t.call('ListKeyPolicies', { KeyId: keyId, Marker: 'ZGVmYXVsdA' }), 'InvalidMarkerException');
    expectAwsError(await t.call('DescribeCustomKeyStores', { Marker: 'eXViaWhzbQ' }), 'InvalidMarkerException');
  });

  it('an operation kmsgate does not serve is UnsupportedOperationException, a made-up one UnknownOperationException', async () => {
    const r = await t.call('CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:role/x', Operations: ['Decrypt'] });
    expectAwsError(r, 'UnsupportedOperationException');
    expect(r.json.message).toMatch(/^CreateGrant is not supported by kmsgate: /);
    expectAwsError(await t.call('EncryptEverything', {}), 'UnknownOperationException');
  });
});

describe('DryRun answers only after every other check has passed', () => {
  it.each([
    ['a disabled key', () => ({ KeyId: disabledKeyId }), 'DisabledException'],
    ['a key pending deletion', () => ({ KeyId: pendingKeyId }), 'KMSInvalidStateException'],
    ['a missing key', () => ({ KeyId: 'alias/nope' }), 'NotFoundException'],
    ['an algorithm of another key spec', () => ({ KeyId: keyId, SigningAlgorithm: 'ECDSA_SHA_384' }), 'InvalidKeyUsageException'],
    ['a digest of the wrong length', () => ({ KeyId: keyId, Message: b64(31) }), 'ValidationException'],
    [
      'an algorithm the backend cannot sign',
      () => ({ KeyId: edKeyId, SigningAlgorithm: 'ED25519_PH_SHA_512', Message: b64(64) }),
      'UnsupportedOperationException',
    ],
  ] as const)('%s', async (_name, override, type) => {
    for (const op of ['Sign', 'Verify']) {
      const body = {
        Message: b64(32),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
        DryRun: true,
        ...override(),
        ...(op === 'Verify' ? { Signature: b64(70) } : {}),
      };
      expectAwsError(await t.call(op, body), type);
    }
  });
});
