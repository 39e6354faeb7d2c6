import { createECDH, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { CreateKeyCommand, DeriveSharedSecretCommand, DescribeKeyCommand, GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Key agreement end to end: KEY_AGREEMENT keys on the YubiHSM 2 simulator through the unmodified
 * AWS SDK; each shared secret is checked against node:crypto's ECDH with the key's public key.
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

async function rejection(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!e) throw new Error('expected a rejection');
  return { name: e.name, message: e.message };
}

const CURVES = [
  ['ECC_NIST_P256', 'prime256v1'],
  ['ECC_NIST_P384', 'secp384r1'],
  ['ECC_NIST_P521', 'secp521r1'],
] as const;

describe.each(CURVES)('%s', (KeySpec, curve) => {
  it("derives the raw shared secret node:crypto derives from the key's public key, inside the device", async () => {
    const md = (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'KEY_AGREEMENT' }))).KeyMetadata!;
    expect(md).toMatchObject({ KeyUsage: 'KEY_AGREEMENT', KeyAgreementAlgorithms: ['ECDH'] });
    expect(md.SigningAlgorithms).toBeUndefined();
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: md.KeyId }));
    expect(pub).toMatchObject({ KeyUsage: 'KEY_AGREEMENT', KeyAgreementAlgorithms: ['ECDH'] });

    const peer = generateKeyPairSync('ec', { namedCurve: curve });
    const PublicKey = peer.publicKey.export({ type: 'spki', format: 'der' });
    const out = await kms.send(new DeriveSharedSecretCommand({ KeyId: md.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey }));
    expect(out).toMatchObject({ KeyId: md.Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });

    const ecdh = createECDH(curve);
    const jwk = peer.privateKey.export({ format: 'jwk' });
    ecdh.setPrivateKey(Buffer.from(jwk.d!, 'base64url'));
    const kmsPoint = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(kmsPoint.x!, 'base64url'), Buffer.from(kmsPoint.y!, 'base64url')]);
    expect(Buffer.from(out.SharedSecret!).toString('hex')).toBe(ecdh.computeSecret(point).toString('hex'));

    // It agrees keys and does nothing else.
    expect((await rejection(kms.send(new SignCommand({ KeyId: md.KeyId, Message: Buffer.alloc(1), SigningAlgorithm: 'ECDSA_SHA_256' })))).name).toBe(
      'InvalidKeyUsageException',
    );
  });
});

describe('refusals', () => {
  let keyId: string;
  beforeAll(async () => {
    keyId = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }))).KeyMetadata!.KeyId!;
  });

  it('a public key on another curve, of another type, or not DER', async () => {
    const invalid = { name: 'ValidationException', message: 'PublicKey must be a DER SubjectPublicKeyInfo of a point on the curve of ECC_NIST_P256.' };
    const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'der' });
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    for (const PublicKey of [other, ed, Buffer.from('not der')]) {
      expect(await rejection(kms.send(new DeriveSharedSecretCommand({ KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey })))).toEqual(invalid);
    }
    // A point that is not on the curve: the valid encoding of one with Y changed.
    const good = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
    const offCurve = Buffer.from(good);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(await rejection(kms.send(new DeriveSharedSecretCommand({ KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: offCurve })))).toEqual(invalid);
  });

  it('a signing key, and KEY_AGREEMENT where AWS or the backend does not allow it', async () => {
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    const PublicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
    expect(await rejection(kms.send(new DeriveSharedSecretCommand({ KeyId: signing.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${signing.Arn} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.`,
    });
    expect(await rejection(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' })))).toEqual({
      name: 'ValidationException',
      message: 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1',
    });
    expect(await rejection(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT', CustomKeyStoreId: 'tee' })))).toEqual({
      name: 'UnsupportedOperationException',
      message: 'KeyUsage KEY_AGREEMENT is not supported by custom key store tee.',
    });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyAgreementAlgorithms).toEqual(['ECDH']);
  });
});
