/**
 * Importing AWS-format key material into the device: the material is made and wrapped here with
 * node:crypto exactly as AWS's developer guide has an importer do it (OpenSSL's RSA-OAEP and
 * id-aes256-wrap-pad), then signed with through the backend and verified against the original
 * public key.
 */
import { constants, createCipheriv, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { ImportWrappingAlgorithm } from '@kmsgate/core';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { YubiHsmBackend } from '../src';

let sim: RunningSimulator;
let backend: YubiHsmBackend;

beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  backend = new YubiHsmBackend({ id: 'import', connectorUrl: sim.url, password: 'password' });
});

afterAll(async () => {
  await backend.close();
  await sim.close();
});

function wrap(algorithm: ImportWrappingAlgorithm, wrappingSpki: Uint8Array, pkcs8: Uint8Array): Uint8Array {
  const key = createPublicKey({ key: Buffer.from(wrappingSpki), format: 'der', type: 'spki' });
  const oaepHash = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
  const rsa = (data: Uint8Array) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  if (algorithm.startsWith('RSAES')) return new Uint8Array(rsa(pkcs8));
  const aes = randomBytes(32);
  const cipher = createCipheriv('id-aes256-wrap-pad', aes, Buffer.from('a65959a6', 'hex'));
  return new Uint8Array(Buffer.concat([rsa(aes), cipher.update(pkcs8), cipher.final()]));
}

const pkcs8Of = (k: KeyObject) => new Uint8Array(k.export({ type: 'pkcs8', format: 'der' }));
const spkiOf = (k: KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }));

describe('importing AWS-wrapped key material into a YubiHSM 2', () => {
  const algorithms: ImportWrappingAlgorithm[] = ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1'];
  for (const algorithm of algorithms) {
    it(`imports a P-256 key wrapped with ${algorithm}; it signs, and the signature verifies against the original public key`, async () => {
      const original = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const wrapping = await backend.createImportWrappingKey('RSA_2048', 'import-wrap');
      const imported = await backend.importKey(
        'ECC_NIST_P256',
        'imported',
        { ...wrapping, spec: 'RSA_2048', algorithm },
        wrap(algorithm, wrapping.publicKey, pkcs8Of(original.privateKey)),
      );
      expect(imported.publicKey).toEqual(spkiOf(original.publicKey));
      const message = new TextEncoder().encode(`imported with ${algorithm}`);
      const digest = new Uint8Array(createHash('sha256').update(message).digest());
      const signature = await backend.sign(imported.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', digest, imported.publicKey);
      expect(verify('sha256', message, { key: original.publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
    });
  }

  it('imports secp256k1, Ed25519 and RSA-2048 keys (RSA only with an AES key wrap, as AWS requires)', async () => {
    const cases = [
      { spec: 'ECC_SECG_P256K1', pair: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), algorithm: 'RSAES_OAEP_SHA_256' },
      { spec: 'ECC_NIST_EDWARDS25519', pair: generateKeyPairSync('ed25519'), algorithm: 'RSAES_OAEP_SHA_256' },
      { spec: 'RSA_2048', pair: generateKeyPairSync('rsa', { modulusLength: 2048 }), algorithm: 'RSA_AES_KEY_WRAP_SHA_256' },
    ] as const;
    for (const c of cases) {
      const wrapping = await backend.createImportWrappingKey('RSA_3072', 'import-wrap');
      const imported = await backend.importKey(
        c.spec,
        'imported',
        { ...wrapping, spec: 'RSA_3072', algorithm: c.algorithm },
        wrap(c.algorithm, wrapping.publicKey, pkcs8Of(c.pair.privateKey)),
      );
      expect(imported.publicKey).toEqual(spkiOf(c.pair.publicKey));
    }
  });

  it("refuses tampered, misfitting or wrong-spec material with AWS's errors and leaves nothing on the device", async () => {
    const wrapping = await backend.createImportWrappingKey('RSA_2048', 'import-wrap');
    const p256 = pkcs8Of(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    const objects = sim.device.objectCount();
    const attempt = (spec: 'ECC_NIST_P256' | 'ECC_NIST_P384', algorithm: ImportWrappingAlgorithm, blob: Uint8Array) =>
      backend.importKey(spec, 'bad', { ...wrapping, spec: 'RSA_2048', algorithm }, blob).then(
        () => undefined,
        (e: unknown) => e,
      );

    const tampered = wrap('RSAES_OAEP_SHA_256', wrapping.publicKey, p256);
    tampered[17] = tampered[17]! ^ 1;
    expect(await attempt('ECC_NIST_P256', 'RSAES_OAEP_SHA_256', tampered)).toMatchObject({ type: 'InvalidCiphertextException' });
    const kw = wrap('RSA_AES_KEY_WRAP_SHA_256', wrapping.publicKey, p256);
    kw[kw.length - 3] = kw[kw.length - 3]! ^ 1;
    expect(await attempt('ECC_NIST_P256', 'RSA_AES_KEY_WRAP_SHA_256', kw)).toMatchObject({ type: 'InvalidCiphertextException' });
    // Wrapped for OAEP-SHA-256, declared as SHA-1: the padding check fails in the device.
    expect(await attempt('ECC_NIST_P256', 'RSAES_OAEP_SHA_1', wrap('RSAES_OAEP_SHA_256', wrapping.publicKey, p256))).toMatchObject({
      type: 'InvalidCiphertextException',
    });
    expect(await attempt('ECC_NIST_P256', 'RSAES_OAEP_SHA_256', new Uint8Array(100))).toMatchObject({ type: 'InvalidCiphertextException' });
    expect(await attempt('ECC_NIST_P384', 'RSAES_OAEP_SHA_256', wrap('RSAES_OAEP_SHA_256', wrapping.publicKey, p256))).toMatchObject({
      type: 'IncorrectKeyMaterialException',
      message: 'The key material is not a ECC_NIST_P384 private key.',
    });
    expect(
      await attempt('ECC_NIST_P256', 'RSAES_OAEP_SHA_256', wrap('RSAES_OAEP_SHA_256', wrapping.publicKey, new TextEncoder().encode('not a key'))),
    ).toMatchObject({ type: 'IncorrectKeyMaterialException', message: 'The key material is not a PKCS#8 DER private key.' });
    expect(sim.device.objectCount()).toBe(objects);
  });

  it('checks a reimport against the key already imported and puts nothing; deletes the wrapping key', async () => {
    const original = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const made = await backend.createImportWrappingKey('RSA_2048', 'import-wrap');
    const wrapping = { ...made, spec: 'RSA_2048', algorithm: 'RSA_AES_KEY_WRAP_SHA_256' } as const;
    const objects = sim.device.objectCount();
    await backend.checkReimport(
      'ECC_SECG_P256K1',
      wrapping,
      wrap(wrapping.algorithm, made.publicKey, pkcs8Of(original.privateKey)),
      spkiOf(original.publicKey),
    );
    await expect(
      backend.checkReimport('ECC_SECG_P256K1', wrapping, wrap(wrapping.algorithm, made.publicKey, pkcs8Of(other.privateKey)), spkiOf(original.publicKey)),
    ).rejects.toMatchObject({
      type: 'IncorrectKeyMaterialException',
      message: 'The key material is not the key material previously imported into this KMS key.',
    });
    expect(sim.device.objectCount()).toBe(objects);

    await backend.deleteImportWrappingKey(wrapping);
    expect(sim.device.objectCount()).toBe(objects - 1);
    await backend.deleteImportWrappingKey(wrapping);
    await expect(
      backend.importKey('ECC_SECG_P256K1', 'gone', wrapping, wrap(wrapping.algorithm, made.publicKey, pkcs8Of(original.privateKey))),
    ).rejects.toMatchObject({ type: 'KeyUnavailableException' });
  });
});
