import { randomBytes } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  VerifyMacCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { MAX_HMAC_DATA } from '@kmsgate/yubihsm';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';

/**
 * HMAC keys end to end: the unmodified AWS SDK against the real server, SQLite and the YubiHSM 2
 * simulator over the connector protocol. The key never leaves the device, so a MAC is checked by
 * the device (VerifyMac) and by its properties; the HMAC arithmetic itself is checked against
 * Yubico's vectors in packages/yubihsm (python-yubihsm-wrap-hmac-aes.test.ts).
 */
let t: TestGateway;
let kms: KMSClient;
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
});

const SPECS = [
  ['HMAC_256', 'HMAC_SHA_256', 32],
  ['HMAC_384', 'HMAC_SHA_384', 48],
  ['HMAC_512', 'HMAC_SHA_512', 64],
] as const;

describe.each(SPECS)('%s', (KeySpec, MacAlgorithm, length) => {
  let keyId: string;
  let arn: string;
  beforeAll(async () => {
    const md = (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    keyId = md.KeyId!;
    arn = md.Arn!;
  });

  it('is described as AWS describes an HMAC key, and has no public key', async () => {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(KeyMetadata).toMatchObject({ KeySpec, CustomerMasterKeySpec: KeySpec, KeyUsage: 'GENERATE_VERIFY_MAC', MacAlgorithms: [MacAlgorithm] });
    expect(KeyMetadata!.SigningAlgorithms).toBeUndefined();
    expect(KeyMetadata!.EncryptionAlgorithms).toBeUndefined();
    expect(await rejection(kms.send(new GetPublicKeyCommand({ KeyId: keyId })))).toEqual({
      name: 'UnsupportedOperationException',
      message: `${arn} is an HMAC key: it has no public key.`,
    });
  });

  it('makes the same MAC of the same message, which VerifyMac accepts; any other MAC or message is KMSInvalidMacException', async () => {
    const Message = randomBytes(1000);
    const a = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message, MacAlgorithm }));
    expect(a).toMatchObject({ KeyId: arn, MacAlgorithm });
    expect(a.Mac).toHaveLength(length);
    const b = await kms.send(new GenerateMacCommand({ KeyId: arn, Message, MacAlgorithm, GrantTokens: ['ignored'] }));
    expect(Buffer.from(b.Mac!).equals(Buffer.from(a.Mac!))).toBe(true);
    const other = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Message.subarray(1), MacAlgorithm }));
    expect(Buffer.from(other.Mac!).equals(Buffer.from(a.Mac!))).toBe(false);

    expect(await kms.send(new VerifyMacCommand({ KeyId: keyId, Message, MacAlgorithm, Mac: a.Mac }))).toMatchObject({
      KeyId: arn,
      MacValid: true,
      MacAlgorithm,
    });
    const invalid = { name: 'KMSInvalidMacException', message: '' };
    const flipped = Buffer.from(a.Mac!);
    flipped[length - 1]! ^= 1;
    for (const [msg, mac] of [
      [Message, flipped],
      [Message.subarray(1), a.Mac!],
      [Message, a.Mac!.subarray(1)],
      [Message, Buffer.concat([a.Mac!, Buffer.of(0)])],
    ] as const) {
      expect(await rejection(kms.send(new VerifyMacCommand({ KeyId: keyId, Message: msg, MacAlgorithm, Mac: mac })))).toEqual(invalid);
    }
  });
});

describe('HMAC keys refuse what AWS refuses', () => {
  let keyId: string;
  let arn: string;
  beforeAll(async () => {
    const md = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    keyId = md.KeyId!;
    arn = md.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/mac', TargetKeyId: keyId }));
  });
  const Message = new TextEncoder().encode('m');

  it('an algorithm of another spec (AWS-recorded text), another key usage, an alias', async () => {
    expect(await rejection(kms.send(new GenerateMacCommand({ KeyId: keyId, Message, MacAlgorithm: 'HMAC_SHA_384' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.',
    });
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(await rejection(kms.send(new GenerateMacCommand({ KeyId: symmetric.KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.`,
    });
    expect((await rejection(kms.send(new GenerateMacCommand({ KeyId: 'alias/mac', Message, MacAlgorithm: 'HMAC_SHA_256' })))).name).toBe('NotFoundException');
  });

  it('messages over 4,096 bytes (AWS), or longer than one device command (the YubiHSM 2 has no streaming HMAC)', async () => {
    expect(await rejection(kms.send(new GenerateMacCommand({ KeyId: keyId, Message: new Uint8Array(4097), MacAlgorithm: 'HMAC_SHA_256' })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
    });
    expect((await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: new Uint8Array(MAX_HMAC_DATA), MacAlgorithm: 'HMAC_SHA_256' }))).Mac).toHaveLength(
      32,
    );
    expect(
      await rejection(kms.send(new GenerateMacCommand({ KeyId: keyId, Message: new Uint8Array(MAX_HMAC_DATA + 1), MacAlgorithm: 'HMAC_SHA_256' }))),
    ).toEqual({
      name: 'UnsupportedOperationException',
      message: `The YubiHSM 2 backend yubihsm computes MACs over messages of at most ${MAX_HMAC_DATA} bytes (one device command).`,
    });
  });

  it('HMAC_224 (no HMAC-SHA224 on the YubiHSM 2), and HMAC keys on the TEE backend', async () => {
    expect((await rejection(kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })))).name).toBe(
      'UnsupportedOperationException',
    );
    expect(await rejection(kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', CustomKeyStoreId: 'tee' })))).toEqual({
      name: 'UnsupportedOperationException',
      message: 'KeySpec HMAC_256 is not supported by custom key store tee.',
    });
  });

  it('audits each MAC with the device use it made, and a disabled key makes none', async () => {
    const g = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message, MacAlgorithm: 'HMAC_SHA_256' }));
    const row = t.db.prepare('SELECT operation, decision, key_id, summary FROM audit_log WHERE request_id = ?').get(g.$metadata.requestId!);
    expect(row).toEqual({ operation: 'GenerateMac', decision: 'accept', key_id: keyId, summary: JSON.stringify({ deviceUses: { [keyId]: 1 } }) });
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    expect(await rejection(kms.send(new VerifyMacCommand({ KeyId: keyId, Message, MacAlgorithm: 'HMAC_SHA_256', Mac: g.Mac })))).toEqual({
      name: 'DisabledException',
      message: `${arn} is disabled.`,
    });
  });
});
