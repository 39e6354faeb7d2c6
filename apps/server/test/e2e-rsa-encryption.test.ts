import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  SignCommand,
  type EncryptionAlgorithmSpec,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { Capability, ObjectType, type YubiHsmBackend } from '@kmsgate/yubihsm';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';

/**
 * ENCRYPT_DECRYPT RSA keys on the YubiHSM 2 (docs/cryptography.md, "RSA encryption keys"): the
 * unmodified AWS SDK against the real server, SQLite and the YubiHSM 2 simulator over the connector
 * protocol. Ciphertexts are also made with node:crypto from GetPublicKey's key, as any RSA-OAEP
 * implementation would, and decrypted in the device.
 */
let t: TestGateway;
let kms: KMSClient;
const keys: Record<string, { KeyId: string; Arn: string }> = {};
const SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
  for (const KeySpec of SPECS) {
    const m = (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!;
    keys[KeySpec] = { KeyId: m.KeyId!, Arn: m.Arn! };
  }
}, 120_000);
afterAll(async () => {
  await t.stop();
});

const enc = new TextEncoder();
/** AWS-recorded limits (k − 2·hLen − 2). */
const MAX = {
  RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
  RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
  RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
} as const;
const ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;

async function publicKeyOf(KeyId: string) {
  return createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId }))).PublicKey!), format: 'der', type: 'spki' });
}

it('CreateKey makes RSA keys that encrypt and decrypt; DescribeKey and GetPublicKey name their algorithms as AWS does', async () => {
  for (const spec of SPECS) {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keys[spec]!.KeyId }));
    expect(KeyMetadata).toMatchObject({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    expect(KeyMetadata!.SigningAlgorithms).toBeUndefined();
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keys[spec]!.KeyId }));
    expect(pub).toMatchObject({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
    expect(pub.SigningAlgorithms).toBeUndefined();
    expect((await publicKeyOf(keys[spec]!.KeyId)).asymmetricKeyDetails).toMatchObject({ modulusLength: Number(spec.slice(4)), publicExponent: 65537n });
  }
});

describe.each(SPECS)('%s', (spec) => {
  it.each(ALGORITHMS)('%s: Encrypt up to the limit and Decrypt in the device; a ciphertext made with node:crypto decrypts too', async (alg) => {
    const { KeyId, Arn } = keys[spec]!;
    const max = MAX[spec][alg];
    for (const plaintext of [enc.encode('x'), randomBytes(max)]) {
      const e = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext, EncryptionAlgorithm: alg }));
      expect([e.KeyId, e.EncryptionAlgorithm, e.CiphertextBlob!.length]).toEqual([Arn, alg, Number(spec.slice(4)) / 8]);
      const d = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: e.CiphertextBlob, EncryptionAlgorithm: alg }));
      expect([d.KeyId, d.EncryptionAlgorithm, Buffer.from(d.Plaintext!).equals(Buffer.from(plaintext))]).toEqual([Arn, alg, true]);
    }
    const local = publicEncrypt(
      { key: await publicKeyOf(KeyId), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: alg === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256' },
      Buffer.from('made outside kmsgate'),
    );
    const d = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: local, EncryptionAlgorithm: alg }));
    expect(Buffer.from(d.Plaintext!).toString()).toBe('made outside kmsgate');
    // One byte more than RSAES-OAEP can hold: AWS-recorded text.
    expect(await rejection(kms.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array(max + 1), EncryptionAlgorithm: alg })))).toEqual({
      name: 'ValidationException',
      message: `Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`,
    });
  });
});

it('ReEncrypt moves a ciphertext from an RSA key to a symmetric key and to another RSA key', async () => {
  const rsa = keys.RSA_2048!;
  const blob = (await kms.send(new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: enc.encode('moving'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })))
    .CiphertextBlob!;
  const sym = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const toSym = await kms.send(
    new ReEncryptCommand({
      CiphertextBlob: blob,
      SourceKeyId: rsa.KeyId,
      SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      DestinationKeyId: sym.KeyId,
      DestinationEncryptionContext: { moved: 'yes' },
    }),
  );
  expect(toSym).toMatchObject({
    SourceKeyId: rsa.Arn,
    KeyId: sym.Arn,
    SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
    DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  });
  const toRsa = await kms.send(
    new ReEncryptCommand({
      CiphertextBlob: toSym.CiphertextBlob,
      SourceEncryptionContext: { moved: 'yes' },
      DestinationKeyId: keys.RSA_4096!.KeyId,
      DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
    }),
  );
  expect(toRsa).toMatchObject({
    SourceKeyId: sym.Arn,
    KeyId: keys.RSA_4096!.Arn,
    SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
  });
  expect(toRsa.CiphertextBlob).toHaveLength(512);
  const d = await kms.send(
    new DecryptCommand({ KeyId: keys.RSA_4096!.KeyId, CiphertextBlob: toRsa.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
  );
  expect(Buffer.from(d.Plaintext!).toString()).toBe('moving');
  // An RSA destination takes no context either, and nothing is decrypted for it.
  expect(
    await rejection(
      kms.send(
        new ReEncryptCommand({
          CiphertextBlob: toSym.CiphertextBlob,
          SourceEncryptionContext: { moved: 'yes' },
          DestinationKeyId: rsa.KeyId,
          DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          DestinationEncryptionContext: { a: 'b' },
        }),
      ),
    ),
  ).toEqual({ name: 'ValidationException', message: 'EncryptionContext is not supported with asymmetric KMS keys (RSA_2048, RSAES_OAEP_SHA_256).' });
});

describe('bad input', () => {
  const key = () => keys.RSA_2048!;
  const encrypt = async (alg: EncryptionAlgorithmSpec, plaintext = enc.encode('secret')) =>
    (await kms.send(new EncryptCommand({ KeyId: key().KeyId, Plaintext: plaintext, EncryptionAlgorithm: alg }))).CiphertextBlob!;
  const invalid = { name: 'InvalidCiphertextException', message: '' };

  it('a ciphertext decrypted with the other algorithm, altered, truncated, of another key, or of nothing is InvalidCiphertextException', async () => {
    const blob = await encrypt('RSAES_OAEP_SHA_256');
    const other = (
      await kms.send(new EncryptCommand({ KeyId: keys.RSA_3072!.KeyId, Plaintext: enc.encode('secret'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))
    ).CiphertextBlob!;
    const flipped = blob.slice();
    flipped[100]! ^= 1;
    const made2048 = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const cases: [Uint8Array, string, EncryptionAlgorithmSpec][] = [
      [blob, key().KeyId, 'RSAES_OAEP_SHA_1'],
      [flipped, key().KeyId, 'RSAES_OAEP_SHA_256'],
      [blob.subarray(0, 255), key().KeyId, 'RSAES_OAEP_SHA_256'],
      [other, key().KeyId, 'RSAES_OAEP_SHA_256'],
      [blob, made2048, 'RSAES_OAEP_SHA_256'],
      [new Uint8Array(256).fill(0xff), key().KeyId, 'RSAES_OAEP_SHA_256'],
      [randomBytes(256), key().KeyId, 'RSAES_OAEP_SHA_1'],
    ];
    for (const [CiphertextBlob, KeyId, EncryptionAlgorithm] of cases)
      expect(await rejection(kms.send(new DecryptCommand({ KeyId, CiphertextBlob, EncryptionAlgorithm })))).toEqual(invalid);
    // Without a KeyId an RSA ciphertext names no key: an invalid ciphertext, as a symmetric one would be.
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toEqual(invalid);
    // The untouched one still decrypts.
    const d = await kms.send(new DecryptCommand({ KeyId: key().KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(d.Plaintext!).toString()).toBe('secret');
  });

  it('an RSA key needs its algorithm named (AWS: SYMMETRIC_DEFAULT is the default), and a symmetric key refuses RSAES_OAEP_*', async () => {
    const blob = await encrypt('RSAES_OAEP_SHA_1');
    const symmetricDefault = { name: 'InvalidKeyUsageException', message: 'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.' };
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: key().KeyId, Plaintext: enc.encode('x') })))).toEqual(symmetricDefault);
    expect(await rejection(kms.send(new DecryptCommand({ KeyId: key().KeyId, CiphertextBlob: blob })))).toEqual(symmetricDefault);
    expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: key().KeyId, KeySpec: 'AES_256' })))).toEqual(symmetricDefault);
    const sym = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: sym, Plaintext: enc.encode('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.',
    });
  });

  it('refuses an encryption context and signing, and changes nothing', async () => {
    const blob = await encrypt('RSAES_OAEP_SHA_256');
    const context = {
      name: 'ValidationException',
      message: 'EncryptionContext is not supported with asymmetric KMS keys (RSA_2048, RSAES_OAEP_SHA_256).',
    };
    expect(
      await rejection(
        kms.send(
          new EncryptCommand({ KeyId: key().KeyId, Plaintext: enc.encode('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } }),
        ),
      ),
    ).toEqual(context);
    expect(
      await rejection(
        kms.send(new DecryptCommand({ KeyId: key().KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } })),
      ),
    ).toEqual(context);
    expect(await rejection(kms.send(new SignCommand({ KeyId: key().KeyId, Message: enc.encode('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${key().Arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
    });
    expect(
      await rejection(
        kms.send(new EncryptCommand({ KeyId: key().KeyId, Plaintext: enc.encode('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DryRun: true })),
      ),
    ).toEqual({
      name: 'DryRunOperationException',
      message: 'The request would have succeeded, but the DryRun option is set.',
    });
    // The key still decrypts what it encrypted.
    const d = await kms.send(new DecryptCommand({ KeyId: key().KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(d.Plaintext!).toString()).toBe('secret');
  });

  it('the device key decrypts only: it carries decrypt-oaep and nothing else of use', async () => {
    const backend = t.gateway.backends.registry.find('yubihsm') as YubiHsmBackend;
    const { handle } = t.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(key().KeyId) as { handle: string };
    const info = await backend.client.getObjectInfo(Number(handle.split(':')[1]), ObjectType.ASYMMETRIC_KEY);
    expect(info.capabilities & ~Capability.EXPORTABLE_UNDER_WRAP).toBe(Capability.DECRYPT_OAEP);
  });
});
