/**
 * PUT_ASYMMETRIC_KEY for every key type of the device, then SIGN_ECDSA / SIGN_EDDSA / SIGN_PKCS1
 * and GET_PUBLIC_KEY on it; opaque objects; SIGN_ATTESTATION_CERTIFICATE with a user attesting key
 * and with the simulated device key. Keys are made by node:crypto (OpenSSL), and every signature
 * and certificate is checked by node:crypto, never by kmsgate code.
 */
import { createHash, generateKeyPairSync, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { type RunningSimulator, simulatorAttestationRoot, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceErrorCode, GetObjectInfo, ObjectType, YubiHsmClient } from '../src';

const EC_CURVES = [
  { algorithm: Algorithm.EC_P224, name: 'secp224r1', size: 28 },
  { algorithm: Algorithm.EC_P256, name: 'prime256v1', size: 32 },
  { algorithm: Algorithm.EC_P384, name: 'secp384r1', size: 48 },
  { algorithm: Algorithm.EC_P521, name: 'secp521r1', size: 66 },
  { algorithm: Algorithm.EC_K256, name: 'secp256k1', size: 32 },
  { algorithm: Algorithm.EC_BP256, name: 'brainpoolP256r1', size: 32 },
  { algorithm: Algorithm.EC_BP384, name: 'brainpoolP384r1', size: 48 },
  { algorithm: Algorithm.EC_BP512, name: 'brainpoolP512r1', size: 64 },
] as const;

/** d and the uncompressed point of an OpenSSL-made EC key, read from its own SEC1 and SPKI DER. */
function opensslEcKey(curve: string, size: number): { d: Uint8Array; point: Uint8Array; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
  // ECPrivateKey ::= SEQUENCE { version INTEGER 1, privateKey OCTET STRING (size bytes), … } (RFC 5915)
  const at = sec1.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, size])) + 5;
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { d: new Uint8Array(sec1.subarray(at, at + size)), point: new Uint8Array(spki.subarray(spki.length - 1 - 2 * size)), publicKey };
}

function rsaKey(bits: number): { pq: Uint8Array; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const jwk = privateKey.export({ format: 'jwk' });
  const half = bits / 16;
  const pad = (b64: string): Buffer => Buffer.concat([Buffer.alloc(half), Buffer.from(b64, 'base64url')]).subarray(-half);
  return { pq: new Uint8Array(Buffer.concat([pad(jwk.p!), pad(jwk.q!)])), publicKey };
}

const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

let sim: RunningSimulator;
let client: YubiHsmClient;
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, serial: 4242 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe('PUT_ASYMMETRIC_KEY then use, against node:crypto', () => {
  it.each(EC_CURVES.map((c) => [c.name, c] as const))('%s: public key, ECDSA over SHA-256, origin imported', async (_name, c) => {
    const key = opensslEcKey(c.name, c.size);
    const { id } = await client.putAsymmetricKey({ label: c.name, domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: c.algorithm, key: key.d });
    const pub = await client.getPublicKey(id);
    expect(pub.algorithm).toBe(c.algorithm);
    expect(Buffer.from(pub.publicKey)).toEqual(Buffer.from(key.point.subarray(1)));
    const message = new TextEncoder().encode(`sign with ${c.name}`);
    const signature = await client.signEcdsa(id, sha256(message));
    expect(verify('sha256', message, { key: key.publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
    const info = await client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY);
    expect(info).toMatchObject({ origin: GetObjectInfo.Origin.IMPORTED, algorithm: c.algorithm, length: 3 * c.size });
  });

  it("Ed25519: the seed gives RFC 8032 test 1's public key, and a signature node:crypto accepts", async () => {
    // RFC 8032 §7.1 TEST 1.
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const { id } = await client.putAsymmetricKey({
      label: 'ed',
      domains: 1,
      capabilities: Capability.SIGN_EDDSA,
      algorithm: Algorithm.EC_ED25519,
      key: new Uint8Array(seed),
    });
    const pub = await client.getPublicKey(id);
    expect(Buffer.from(pub.publicKey).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = await client.signEddsa(id, new Uint8Array(0));
    expect(Buffer.from(signature).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it.each([2048, 3072] as const)('RSA-%i from p || q: modulus and PKCS#1 v1.5 signature', async (bits) => {
    const key = rsaKey(bits);
    const algorithm = bits === 2048 ? Algorithm.RSA_2048 : Algorithm.RSA_3072;
    const { id } = await client.putAsymmetricKey({ label: `rsa${bits}`, domains: 1, capabilities: Capability.SIGN_PKCS, algorithm, key: key.pq });
    const pub = await client.getPublicKey(id);
    expect(Buffer.from(pub.publicKey).toString('base64url')).toBe(key.publicKey.export({ format: 'jwk' }).n);
    const message = new TextEncoder().encode('rsa');
    const signature = await client.signPkcs1(id, sha256(message));
    expect(verify('sha256', message, key.publicKey, signature)).toBe(true);
    expect((await client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).length).toBe((7 * bits) / 16);
  });
});

describe('opaque objects', () => {
  it('PUT_OPAQUE / GET_OPAQUE round trip, up to what one message carries', async () => {
    for (const size of [1, 1968, 3000]) {
      const data = new Uint8Array(size).map((_, i) => i & 0xff);
      const id = await client.putOpaque({ label: 'blob', domains: 1, capabilities: 0n, algorithm: Algorithm.OPAQUE_DATA, data });
      expect(Buffer.from(await client.getOpaque(id))).toEqual(Buffer.from(data));
      expect(await client.getObjectInfo(id, ObjectType.OPAQUE)).toMatchObject({ length: size, algorithm: Algorithm.OPAQUE_DATA });
      await client.deleteObject(id, ObjectType.OPAQUE);
    }
  });
});

describe('SIGN_ATTESTATION_CERTIFICATE', () => {
  const extensionValue = (cert: Uint8Array, arc: number): string => {
    // Extension ::= SEQUENCE { extnID OID 1.3.6.1.4.1.41482.4.<arc>, extnValue OCTET STRING }
    const oid = Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xc4, 0x0a, 0x04, arc]);
    const at = Buffer.from(cert).indexOf(oid);
    expect(at).toBeGreaterThan(0);
    const length = cert[at + oid.length + 1]!;
    return Buffer.from(cert.subarray(at + oid.length + 2, at + oid.length + 2 + length)).toString('hex');
  };

  it('a user attesting key and its stored certificate: issuer, validity, public key and Yubico extensions', async () => {
    const attesting = opensslEcKey('prime256v1', 32);
    const { id: attestingId } = await client.putAsymmetricKey({
      label: 'attester',
      domains: 1,
      capabilities: Capability.SIGN_ATTESTATION_CERTIFICATE,
      algorithm: Algorithm.EC_P256,
      key: attesting.d,
    });
    // Any certificate works as the template: the device copies its subject and validity.
    const template = new X509Certificate(Buffer.from(simulatorAttestationRoot()));
    await client.putOpaque({
      id: attestingId,
      label: 'attester cert',
      domains: 1,
      capabilities: 0n,
      algorithm: Algorithm.OPAQUE_X509_CERTIFICATE,
      data: new Uint8Array(template.raw),
    });
    const { id } = await client.generateAsymmetricKey({
      label: 'attested key',
      domains: 0x0003,
      capabilities: Capability.SIGN_ECDSA,
      algorithm: Algorithm.EC_BP384,
    });

    const der = await client.signAttestationCertificate(id, attestingId);
    const cert = new X509Certificate(Buffer.from(der));
    expect(cert.verify(attesting.publicKey)).toBe(true);
    expect(cert.issuer).toBe(template.subject);
    expect([cert.validFrom, cert.validTo]).toEqual([template.validFrom, template.validTo]);
    expect(cert.subject).toBe(`CN=YubiHSM Attestation id:0x${id.toString(16).padStart(4, '0')}`);
    const pub = await client.getPublicKey(id);
    expect(Buffer.from(cert.publicKey.export({ format: 'der', type: 'spki' })).subarray(-96)).toEqual(Buffer.from(pub.publicKey));
    expect(extensionValue(der, 1)).toBe('0403020400');
    expect(extensionValue(der, 2)).toBe('0202' + (4242).toString(16).padStart(4, '0'));
    expect(extensionValue(der, 3)).toBe('03020001');
    expect(extensionValue(der, 4)).toBe('0303000003');
    expect(extensionValue(der, 5)).toBe('030900' + Capability.SIGN_ECDSA.toString(16).padStart(16, '0'));
    expect(extensionValue(der, 9)).toBe('0c0c' + Buffer.from('attested key').toString('hex'));
  });

  it('attesting key 0: the simulated device key, chained to a root that names itself a simulator', async () => {
    const { id } = await client.generateAsymmetricKey({ label: 'k', domains: 1, capabilities: 0n, algorithm: Algorithm.EC_P256 });
    const root = new X509Certificate(Buffer.from(simulatorAttestationRoot()));
    const device = new X509Certificate(Buffer.from(await client.getOpaque(0)));
    const leaf = new X509Certificate(Buffer.from(await client.signAttestationCertificate(id, 0)));
    expect(root.subject).toContain('SIMULATOR - NOT YUBICO');
    expect(root.verify(root.publicKey)).toBe(true);
    expect(device.verify(root.publicKey)).toBe(true);
    expect(device.checkIssued(root)).toBe(true);
    expect(device.subject).toContain('serial 4242 (SIMULATED)');
    expect(leaf.verify(device.publicKey)).toBe(true);
    expect(leaf.checkIssued(device)).toBe(true);
    expect(root.ca && device.ca).toBe(true);
    // Not an object: neither listed nor deletable, as on the device.
    expect((await client.listObjects()).some((o) => o.id === 0)).toBe(false);
  });

  it.each([
    ['Ed25519', Algorithm.EC_ED25519, 'ed25519'],
    ['RSA-2048', Algorithm.RSA_2048, 'rsa'],
    ['P-224', Algorithm.EC_P224, 'ec'],
  ] as const)("a %s key's certificate carries its public key", async (_name, algorithm, keyType) => {
    const { id } = await client.generateAsymmetricKey({ label: 'k', domains: 1, capabilities: 0n, algorithm });
    const device = new X509Certificate(Buffer.from(await client.getOpaque(0)));
    const leaf = new X509Certificate(Buffer.from(await client.signAttestationCertificate(id, 0)));
    expect(leaf.verify(device.publicKey)).toBe(true);
    expect(leaf.publicKey.asymmetricKeyType).toBe(keyType);
    const raw = (await client.getPublicKey(id)).publicKey;
    const spki = leaf.publicKey.export({ format: 'der', type: 'spki' });
    // The raw public key the device reports ends the SubjectPublicKeyInfo (RSA: the modulus, then e = 65537 as 02 03 01 00 01).
    const tail = keyType === 'rsa' ? spki.subarray(spki.length - 5 - raw.length, spki.length - 5) : spki.subarray(spki.length - raw.length);
    expect(Buffer.from(tail)).toEqual(Buffer.from(raw));
  });

  it('without sign-attestation-certificate on the attesting key: INSUFFICIENT_PERMISSIONS', async () => {
    const key = opensslEcKey('prime256v1', 32);
    const { id: attestingId } = await client.putAsymmetricKey({
      label: 'no cap',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      algorithm: Algorithm.EC_P256,
      key: key.d,
    });
    const { id } = await client.generateAsymmetricKey({ label: 'k', domains: 1, capabilities: 0n, algorithm: Algorithm.EC_P256 });
    await expect(client.signAttestationCertificate(id, attestingId)).rejects.toMatchObject({ code: DeviceErrorCode.INSUFFICIENT_PERMISSIONS });
  });
});
