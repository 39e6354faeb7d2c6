/**
 * RSA (SIGN_PKCS1, SIGN_PSS) and P-521 through the client and the backend, over real sockets
 * against yubihsm-sim. Signatures are checked with node:crypto's own verifiers only. Keys are
 * RSA-2048 except one RSA-3072 (generation is slow); the e2e suite covers 4096.
 */
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { KEY_SPECS, KmsError, SIGNING_ALGORITHMS, type SupportedSigningAlgorithm } from '@kmsgate/core';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceError, DeviceErrorCode, ObjectType, YubiHsmBackend, YubiHsmClient } from '../src';

const PASSWORD = 'password';

function spkiKey(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

function hashOf(hash: string, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(message).digest());
}

/** node:crypto's verifier for an AWS signing algorithm: PSS with MGF1(hash) and salt = digest length. */
function nodeVerify(key: KeyObject, algorithm: SupportedSigningAlgorithm, message: Uint8Array, signature: Uint8Array): boolean {
  const { family, hash, digestLength } = SIGNING_ALGORITHMS[algorithm];
  if (family === 'rsa-pss') return verify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestLength }, signature);
  if (family === 'rsa-pkcs1') return verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return verify(hash, message, { key, dsaEncoding: 'der' }, signature);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
});
afterAll(() => sim.close());

describe('YubiHsmClient RSA commands against yubihsm-sim', () => {
  let client: YubiHsmClient;
  let id: number;
  let key: KeyObject;
  beforeAll(async () => {
    client = new YubiHsmClient({ connectorUrl: sim.url, password: PASSWORD });
    ({ id } = await client.generateAsymmetricKey({
      label: 'rsa',
      domains: 1,
      capabilities: Capability.SIGN_PKCS | Capability.SIGN_PSS,
      algorithm: Algorithm.RSA_2048,
    }));
    const pub = await client.getPublicKey(id);
    expect(pub.algorithm).toBe(Algorithm.RSA_2048);
    key = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(pub.publicKey).toString('base64url'), e: 'AQAB' }, format: 'jwk' });
  });
  afterAll(() => client.close());

  it.each(['sha256', 'sha384', 'sha512'] as const)('signPkcs1 and signPss over a bare %s hash', async (hash) => {
    const message = new TextEncoder().encode(`client ${hash}`);
    const h = hashOf(hash, message);
    const pkcs = await client.signPkcs1(id, h);
    expect(pkcs).toHaveLength(256);
    expect(verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, pkcs)).toBe(true);
    const mgf1 = { sha256: Algorithm.RSA_MGF1_SHA256, sha384: Algorithm.RSA_MGF1_SHA384, sha512: Algorithm.RSA_MGF1_SHA512 }[hash];
    const pss = await client.signPss(id, mgf1, h.length, h);
    expect(pss).toHaveLength(256);
    expect(verify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: h.length }, pss)).toBe(true);
  });

  it('checks arguments at the boundary, naming the field', async () => {
    const h = new Uint8Array(32);
    await expect(client.signPkcs1(id, new Uint8Array(31))).rejects.toThrow('digest must be 20, 32, 48, 64 bytes long, got 31');
    await expect(client.signPkcs1(0, h)).rejects.toThrow('keyId must be between 1 and 65534, got 0');
    await expect(client.signPss(id, Algorithm.RSA_PSS_SHA256, 32, h)).rejects.toThrow(RangeError);
    await expect(client.signPss(id, Algorithm.RSA_MGF1_SHA256, 0x10000, h)).rejects.toThrow(/saltLength/);
    await expect(client.signPss(id, Algorithm.RSA_MGF1_SHA256, 32, 'x' as unknown as Uint8Array)).rejects.toThrow(new TypeError('digest must be a Uint8Array'));
  });

  it('passes the device errors through: a salt too long, a key without the capability', async () => {
    const h = new Uint8Array(32);
    const tooLong = await rejection(client.signPss(id, Algorithm.RSA_MGF1_SHA256, 256, h));
    expect(tooLong).toBeInstanceOf(DeviceError);
    expect((tooLong as DeviceError).code).toBe(DeviceErrorCode.INVALID_DATA);
    const { id: pkcsOnly } = await client.generateAsymmetricKey({
      label: 'pkcs',
      domains: 1,
      capabilities: Capability.SIGN_PKCS,
      algorithm: Algorithm.RSA_2048,
    });
    const denied = await rejection(client.signPss(pkcsOnly, Algorithm.RSA_MGF1_SHA256, 32, h));
    expect((denied as DeviceError).code).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });
});

describe('YubiHsmBackend with RSA and P-521 keys against yubihsm-sim', () => {
  let backend: YubiHsmBackend;
  beforeAll(() => {
    backend = new YubiHsmBackend({ id: 'hsm-rsa', connectorUrl: sim.url, password: PASSWORD, simulated: true });
  });
  afterAll(() => backend.close());

  it('offers every spec and algorithm of the table except Ed25519ph', () => {
    expect([...backend.keySpecs].sort()).toEqual(Object.keys(KEY_SPECS).sort());
    expect([...backend.signingAlgorithms].sort()).toEqual(
      Object.keys(SIGNING_ALGORITHMS)
        .filter((a) => a !== 'ED25519_PH_SHA_512')
        .sort(),
    );
  });

  it.each([
    ['RSA_2048', 2048],
    ['RSA_3072', 3072],
  ] as const)(
    '%s: sign-pkcs and sign-pss (and exportable-under-wrap), and all six algorithms verify',
    async (spec, bits) => {
      const key = await backend.generateKey(spec, `label-${spec}`);
      const pub = spkiKey(key.publicKey);
      expect(pub.asymmetricKeyDetails).toMatchObject({ modulusLength: bits, publicExponent: 65537n });
      expect(await backend.getPublicKey(key.handle, spec)).toEqual(key.publicKey);
      const objectId = Number(key.handle.split(':').pop());
      const info = await backend.client.getObjectInfo(objectId, ObjectType.ASYMMETRIC_KEY);
      expect(info).toMatchObject({ algorithm: Algorithm[spec], capabilities: Capability.SIGN_PKCS | Capability.SIGN_PSS | Capability.EXPORTABLE_UNDER_WRAP });
      const message = new TextEncoder().encode(`message for ${spec}`);
      for (const algorithm of KEY_SPECS[spec].signingAlgorithms) {
        const sig = await backend.sign(key.handle, spec, algorithm, hashOf(SIGNING_ALGORITHMS[algorithm].hash, message), key.publicKey);
        expect(sig).toHaveLength(bits / 8);
        expect(nodeVerify(pub, algorithm, message, sig)).toBe(true);
      }
      await backend.deleteKey(key.handle, spec, key.publicKey);
    },
    60_000,
  );

  it('ECC_NIST_P521: ECDSA_SHA_512 over the 64-byte digest, DER', async () => {
    const key = await backend.generateKey('ECC_NIST_P521', 'p521');
    const pub = spkiKey(key.publicKey);
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('secp521r1');
    const objectId = Number(key.handle.split(':').pop());
    expect((await backend.client.getObjectInfo(objectId, ObjectType.ASYMMETRIC_KEY)).capabilities).toBe(
      Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
    );
    const message = new TextEncoder().encode('p521 message');
    const sig = await backend.sign(key.handle, 'ECC_NIST_P521', 'ECDSA_SHA_512', hashOf('sha512', message), key.publicKey);
    expect(sig[0]).toBe(0x30);
    expect(nodeVerify(pub, 'ECDSA_SHA_512', message, sig)).toBe(true);
  });

  it('refuses a digest of the wrong length and an algorithm of another spec', async () => {
    const key = await backend.generateKey('RSA_2048', 'checks');
    expect(await rejection(backend.sign(key.handle, 'RSA_2048', 'RSASSA_PSS_SHA_384', new Uint8Array(32), key.publicKey))).toBeInstanceOf(RangeError);
    const wrong = await rejection(backend.sign(key.handle, 'RSA_2048', 'ECDSA_SHA_256', new Uint8Array(32), key.publicKey));
    expect(wrong).toBeInstanceOf(KmsError);
    expect((wrong as KmsError).type).toBe('InvalidKeyUsageException');
  });
});
