import { constants, createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSInvalidSignatureException,
  SignCommand,
  VerifyCommand,
  type KMSClient,
  type MessageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * RSA_2048/3072/4096 and ECC_NIST_P521 end to end: the AWS SDK, the real server and the YubiHSM 2
 * simulator over the connector protocol. Every spec × algorithm × message type is signed and the
 * signature checked with node:crypto (PSS: MGF1 over the same hash, salt = digest length, as AWS
 * signs), never with kmsgate code. One key per spec, so RSA-4096 is generated once.
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

const enc = new TextEncoder();

const RSA_ALGORITHMS = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
] as const;

/** What AWS's algorithm names mean, written out here rather than read from kmsgate's tables. */
function scheme(alg: string): { hash: string; digestLength: number; padding: 'pss' | 'pkcs1' | 'ecdsa' } {
  const bits = alg.slice(-3);
  const hash = `sha${bits}`;
  const digestLength = Number(bits) / 8;
  if (alg.startsWith('RSASSA_PSS_')) return { hash, digestLength, padding: 'pss' };
  if (alg.startsWith('RSASSA_PKCS1_V1_5_')) return { hash, digestLength, padding: 'pkcs1' };
  return { hash, digestLength, padding: 'ecdsa' };
}

function verifiesWithNode(key: KeyObject, alg: string, message: Uint8Array, signature: Uint8Array): boolean {
  const { hash, digestLength, padding } = scheme(alg);
  if (padding === 'pss') return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestLength }, signature);
  if (padding === 'pkcs1') return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return nodeVerify(hash, message, { key, dsaEncoding: 'der' }, signature);
}

const SPECS = [
  { spec: 'RSA_2048', algorithms: RSA_ALGORITHMS, bits: 2048, spkiLength: 294 },
  { spec: 'RSA_3072', algorithms: RSA_ALGORITHMS, bits: 3072, spkiLength: 422 },
  { spec: 'RSA_4096', algorithms: RSA_ALGORITHMS, bits: 4096, spkiLength: 550 },
  { spec: 'ECC_NIST_P521', algorithms: ['ECDSA_SHA_512'], bits: 521, spkiLength: 158 },
] as const;

describe.each(SPECS)('$spec', ({ spec, algorithms, bits, spkiLength }) => {
  let keyId: string;
  let arn: string;
  let publicKey: KeyObject;

  beforeAll(async () => {
    const out = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', Description: `e2e ${spec}` }));
    keyId = out.KeyMetadata!.KeyId!;
    arn = out.KeyMetadata!.Arn!;
    expect(out.KeyMetadata).toMatchObject({
      KeySpec: spec,
      CustomerMasterKeySpec: spec,
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      SigningAlgorithms: [...algorithms],
    });
    expect(out.KeyMetadata!.EncryptionAlgorithms).toBeUndefined();
  }, 60_000);

  it('DescribeKey and GetPublicKey list the algorithms; the SPKI is the right key', async () => {
    const d = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(d.KeyMetadata!.SigningAlgorithms).toEqual([...algorithms]);
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(out).toMatchObject({ KeyId: arn, KeySpec: spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: [...algorithms] });
    expect(out.PublicKey).toHaveLength(spkiLength);
    publicKey = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
    if (spec === 'ECC_NIST_P521') {
      expect(publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'secp521r1' });
    } else {
      expect(publicKey.asymmetricKeyType).toBe('rsa');
      expect(publicKey.asymmetricKeyDetails).toEqual({ modulusLength: bits, publicExponent: 65537n });
    }
  });

  describe.each(algorithms.map((a) => [a]))('%s', (alg) => {
    it.each(['RAW', 'DIGEST'] as const)('signs a %s message; node:crypto verifies it, and so does Verify', async (type: MessageType) => {
      const { hash } = scheme(alg);
      const message = enc.encode(`pay 1 unit with ${spec} ${alg} ${type}`);
      const input = type === 'RAW' ? message : new Uint8Array(createHash(hash).update(message).digest());
      const out = await kms.send(new SignCommand({ KeyId: keyId, Message: input, MessageType: type, SigningAlgorithm: alg as SigningAlgorithmSpec }));
      expect(out).toMatchObject({ KeyId: arn, SigningAlgorithm: alg });
      const sig = out.Signature!;
      if (spec === 'ECC_NIST_P521') expect(sig[0]).toBe(0x30);
      else expect(sig).toHaveLength(bits / 8);
      expect(verifiesWithNode(publicKey, alg, message, sig)).toBe(true);
      expect(verifiesWithNode(publicKey, alg, enc.encode('another message'), sig)).toBe(false);

      // Verify with the other message type: the signature does not depend on how it was asked for.
      const other: MessageType = type === 'RAW' ? 'DIGEST' : 'RAW';
      const otherInput = other === 'RAW' ? message : new Uint8Array(createHash(hash).update(message).digest());
      const v = await kms.send(
        new VerifyCommand({ KeyId: keyId, Message: otherInput, MessageType: other, Signature: sig, SigningAlgorithm: alg as SigningAlgorithmSpec }),
      );
      expect(v).toMatchObject({ KeyId: arn, SignatureValid: true, SigningAlgorithm: alg });
      const tampered = Uint8Array.from(sig);
      tampered[tampered.length - 5]! ^= 0x01;
      await expect(
        kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: tampered, SigningAlgorithm: alg as SigningAlgorithmSpec })),
      ).rejects.toBeInstanceOf(KMSInvalidSignatureException);
    });
  });
});

describe('RSA and P-521 rules (AWS wording)', () => {
  let rsaKey: string;
  let p256Key: string;
  beforeAll(async () => {
    rsaKey = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    p256Key = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  });

  it('an RSA algorithm on an EC key and the reverse are InvalidKeyUsageException', async () => {
    await expect(kms.send(new SignCommand({ KeyId: p256Key, Message: enc.encode('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.',
    });
    await expect(kms.send(new SignCommand({ KeyId: rsaKey, Message: enc.encode('m'), SigningAlgorithm: 'ECDSA_SHA_512' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm ECDSA_SHA_512 is incompatible with key spec RSA_2048.',
    });
  });

  it('a digest of the wrong length is ValidationException (AWS-recorded wording)', async () => {
    await expect(
      kms.send(new SignCommand({ KeyId: rsaKey, Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_384' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: 'Digest is invalid length for algorithm RSASSA_PSS_SHA_384.' });
    await expect(
      kms.send(
        new VerifyCommand({
          KeyId: rsaKey,
          Message: new Uint8Array(48),
          MessageType: 'DIGEST',
          Signature: new Uint8Array(256),
          SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: 'Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_512.' });
  });

  it('a PKCS#1 v1.5 signature presented as PSS, or an all-zero one, is KMSInvalidSignatureException', async () => {
    // (PSS with another salt length is refused too: packages/core/test/signing-rsa-p521.test.ts.)
    const pkcs = await kms.send(new SignCommand({ KeyId: rsaKey, Message: enc.encode('m'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
    await expect(
      kms.send(new VerifyCommand({ KeyId: rsaKey, Message: enc.encode('m'), Signature: pkcs.Signature!, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })),
    ).rejects.toBeInstanceOf(KMSInvalidSignatureException);
    await expect(
      kms.send(new VerifyCommand({ KeyId: rsaKey, Message: enc.encode('m'), Signature: new Uint8Array(256), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })),
    ).rejects.toBeInstanceOf(KMSInvalidSignatureException);
  });

  it("CreateKey: KEY_AGREEMENT or GENERATE_VERIFY_MAC RSA is AWS's ValidationException (ENCRYPT_DECRYPT: e2e-rsa-encryption.test.ts)", async () => {
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048',
    });
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_4096', KeyUsage: 'GENERATE_VERIFY_MAC' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_4096',
    });
  });
});
