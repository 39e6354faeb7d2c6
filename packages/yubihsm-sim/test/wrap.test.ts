// Wrap keys and EXPORT_WRAPPED / IMPORT_WRAPPED. Blobs exported by a YubiHSM 2 must import here, and
// what the simulator exports is opened with node:crypto and checked field by field, so the format
// is pinned by outside data rather than by our own round trip. Every refused command changes nothing.
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify,
} from 'node:crypto';
import {
  ALL_CAPABILITIES,
  Algorithm,
  Capability,
  Command,
  decodeWrappedObject,
  DeleteObject,
  DeviceErrorCode,
  ExportWrapped,
  GenerateAsymmetricKey,
  GenerateWrapKey,
  GetObjectInfo,
  GetPublicKey,
  ImportWrapped,
  ObjectType,
  PutAuthenticationKey,
  PutWrapKey,
  SignEddsa,
  SignPkcs1,
  SignEcdsa,
  authKeyFromPassword,
  splitCcmWrapped,
  type WrappedObject,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { hex, loadVectors, unhex } from '../../yubihsm/test/helpers/vectors';
import { deviceCode, TestSession } from './helpers/client';
import { digest, publicKeyFromDevice, rsaPublicKeyFromDevice, verifyEcdsa, verifyEd25519 } from './helpers/verify';

let sim: RunningSimulator;
let admin: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const EXPORT_IMPORT = Capability.EXPORT_WRAPPED | Capability.IMPORT_WRAPPED;

async function putWrapKey(s: TestSession, fields: Partial<PutWrapKey.Request> = {}): Promise<number> {
  const req = {
    id: 0,
    label: label('wrap'),
    domains: 0xffff,
    capabilities: EXPORT_IMPORT,
    algorithm: Algorithm.AES128_CCM_WRAP,
    delegatedCapabilities: ALL_CAPABILITIES,
    key: new Uint8Array(16).fill(7),
    ...fields,
  };
  return PutWrapKey.decodeResponse(await s.send(Command.PUT_WRAP_KEY, PutWrapKey.encodeRequest(req))).id;
}

async function generateKey(s: TestSession, algorithm: number, fields: Partial<GenerateAsymmetricKey.Request> = {}): Promise<number> {
  const req = {
    id: 0,
    label: label('key'),
    domains: 1,
    capabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA | Capability.SIGN_PKCS | Capability.EXPORTABLE_UNDER_WRAP,
    algorithm,
    ...fields,
  };
  return GenerateAsymmetricKey.decodeResponse(await s.send(Command.GENERATE_ASYMMETRIC_KEY, GenerateAsymmetricKey.encodeRequest(req))).id;
}

async function exportWrapped(s: TestSession, wrapKeyId: number, type: number, id: number, format?: number): Promise<ExportWrapped.Response> {
  return ExportWrapped.decodeResponse(await s.send(Command.EXPORT_WRAPPED, ExportWrapped.encodeRequest({ wrapKeyId, type, id, format })));
}

async function importWrapped(s: TestSession, wrapKeyId: number, blob: ExportWrapped.Response): Promise<ImportWrapped.Response> {
  return ImportWrapped.decodeResponse(await s.send(Command.IMPORT_WRAPPED, ImportWrapped.encodeRequest({ wrapKeyId, ...blob })));
}

async function info(s: TestSession, id: number, type: number): Promise<GetObjectInfo.Response> {
  return GetObjectInfo.decodeResponse(await s.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id, type })));
}

async function publicKey(s: TestSession, keyId: number, objectType?: number): Promise<GetPublicKey.Response> {
  return GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId, objectType })));
}

const deleteObject = (s: TestSession, id: number, type: number): Promise<Uint8Array> => s.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id, type }));

/** Opens a blob with node:crypto, independent of the simulator's AES-CCM code. */
function openBlob(key: Uint8Array, blob: ExportWrapped.Response): WrappedObject {
  const { nonce, ciphertext } = blob;
  expect(nonce).toHaveLength(13);
  const body = ciphertext.subarray(0, ciphertext.length - 16);
  const decipher = createDecipheriv(`aes-${key.length * 8}-ccm` as 'aes-128-ccm', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  decipher.setAAD(Buffer.alloc(0), { plaintextLength: body.length });
  return decodeWrappedObject(new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()])));
}

describe('blobs made outside kmsgate (two by a YubiHSM 2) import into the simulator', () => {
  interface YhwCase {
    yhw: string;
    object: { id: number; type: number; algorithm: number; domains: number; capabilities: string; label: string; body: string };
    publicKey?: string;
  }
  const vectors = loadVectors<YhwCase>('signstar-yhw');
  const wrapKey = unhex((vectors as unknown as { wrapKey: string }).wrapKey);
  const blob = (v: YhwCase): ExportWrapped.Response => splitCcmWrapped(new Uint8Array(Buffer.from(v.yhw, 'base64')));

  test.each(vectors.cases)('$comment', async (v) => {
    const wrapId = await putWrapKey(admin, { key: wrapKey });
    const imported = await importWrapped(admin, wrapId, blob(v));
    expect(imported).toEqual({ type: v.object.type, id: v.object.id });
    const got = await info(admin, v.object.id, v.object.type);
    expect(got).toMatchObject({ algorithm: v.object.algorithm, domains: v.object.domains, capabilities: BigInt(`0x${v.object.capabilities}`), origin: 0x12 });
    expect(new TextDecoder().decode(got.label.subarray(0, got.label.indexOf(0) < 0 ? 40 : got.label.indexOf(0)))).toBe(v.object.label);
    // The same blob again: the object exists.
    expect(await deviceCode(importWrapped(admin, wrapId, blob(v)))).toBe(DeviceErrorCode.OBJECT_EXISTS);

    if (v.object.type === ObjectType.ASYMMETRIC_KEY) {
      // An Ed25519 key that arrived without its seed still signs, and node:crypto verifies it
      // against the public key the vector states.
      expect(hex((await publicKey(admin, v.object.id)).publicKey)).toBe(v.publicKey);
      const message = new Uint8Array(randomBytes(50));
      const signature = SignEddsa.decodeResponse(await admin.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: v.object.id, message }))).signature;
      expect(verifyEd25519(publicKeyFromDevice(Algorithm.EC_ED25519, unhex(v.publicKey!)), message, signature)).toBe(true);
    }
    if (v.object.type === ObjectType.AUTHENTICATION_KEY) {
      // The imported authentication key opens a session with the K-ENC / K-MAC the blob carried.
      const keys = unhex(v.object.body).subarray(8);
      const session = await TestSession.open(sim.url, v.object.id, { encKey: keys.subarray(0, 16), macKey: keys.subarray(16) });
      expect([...(await session.send(Command.ECHO, Uint8Array.of(1)))]).toEqual([1]);
    }
    if (v.object.type === ObjectType.OPAQUE) expect(got.length).toBe(3);
  });
});

describe('what the simulator exports has the device layout', () => {
  const key = new Uint8Array(randomBytes(24));

  test('EC P-256: header fields and a d || X || Y body that OpenSSL agrees with; import restores a working key', async () => {
    const wrapId = await putWrapKey(admin, { algorithm: Algorithm.AES192_CCM_WRAP, key });
    const id = await generateKey(admin, Algorithm.EC_P256, { label: label('ec'), domains: 5 });
    const pub = await publicKey(admin, id);
    const before = await info(admin, id, ObjectType.ASYMMETRIC_KEY);
    const blob = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id);
    const o = openBlob(key, blob);
    expect(o).toMatchObject({
      wrapAlgorithm: Algorithm.AES192_CCM_WRAP,
      id,
      domains: 5,
      type: ObjectType.ASYMMETRIC_KEY,
      algorithm: Algorithm.EC_P256,
      origin: 0x01,
    });
    expect(o.capabilities).toBe(before.capabilities);
    expect(new TextDecoder().decode(o.label)).toBe('ec');
    expect(o.body).toHaveLength(96);
    expect(o.body.length).toBe(before.length);
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(o.body.subarray(0, 32));
    expect(hex(ecdh.getPublicKey().subarray(1))).toBe(hex(o.body.subarray(32)));
    expect(hex(o.body.subarray(32))).toBe(hex(pub.publicKey));

    // Two exports of one object differ (fresh nonce).
    expect(hex((await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id)).nonce)).not.toBe(hex(blob.nonce));

    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
    expect(await importWrapped(admin, wrapId, blob)).toEqual({ type: ObjectType.ASYMMETRIC_KEY, id });
    expect((await info(admin, id, ObjectType.ASYMMETRIC_KEY)).origin).toBe(0x11);
    const hash = digest('sha256', Uint8Array.of(1, 2, 3));
    const signature = SignEcdsa.decodeResponse(await admin.send(Command.SIGN_ECDSA, SignEcdsa.encodeRequest({ keyId: id, digest: hash }))).signature;
    expect(verifyEcdsa(publicKeyFromDevice(Algorithm.EC_P256, pub.publicKey), 'sha256', Uint8Array.of(1, 2, 3), signature)).toBe(true);
  });

  test('Ed25519: 96-byte legacy body, 128-byte body with the seed; both import and sign', async () => {
    const wrapId = await putWrapKey(admin, { algorithm: Algorithm.AES192_CCM_WRAP, key });
    const id = await generateKey(admin, Algorithm.EC_ED25519);
    const pub = (await publicKey(admin, id)).publicKey;
    const legacy = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id);
    const seeded = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id, ExportWrapped.ExportFormat.WITH_ED25519_SEED);
    const legacyBody = openBlob(key, legacy).body;
    const seededBody = openBlob(key, seeded).body;
    expect(legacyBody).toHaveLength(96);
    expect(seededBody).toHaveLength(128);
    expect(hex(seededBody.subarray(32))).toBe(hex(legacyBody));
    expect(hex(legacyBody.subarray(64))).toBe(hex(pub));
    // The seed is the RFC 8032 private key: OpenSSL derives the same public key from it.
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seededBody.subarray(0, 32)]);
    const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    expect(hex(spki.subarray(-32))).toBe(hex(pub));
    // The scalar is stored big-endian: reversed, it is the clamped SHA-512 of the seed.
    const h = createHash('sha512').update(seededBody.subarray(0, 32)).digest();
    h[0]! &= 248;
    h[31]! &= 127;
    h[31]! |= 64;
    expect(hex(legacyBody.subarray(0, 32).slice().reverse())).toBe(hex(h.subarray(0, 32)));
    expect(hex(legacyBody.subarray(32, 64))).toBe(hex(h.subarray(32)));

    for (const blob of [legacy, seeded]) {
      await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
      await importWrapped(admin, wrapId, blob);
      const message = new Uint8Array(randomBytes(64));
      const signature = SignEddsa.decodeResponse(await admin.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: id, message }))).signature;
      expect(verifyEd25519(publicKeyFromDevice(Algorithm.EC_ED25519, pub), message, signature)).toBe(true);
    }
    // Imported without its seed, the key cannot be exported with one.
    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
    await importWrapped(admin, wrapId, legacy);
    expect(await deviceCode(exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id, ExportWrapped.ExportFormat.WITH_ED25519_SEED))).toBe(
      DeviceErrorCode.INVALID_DATA,
    );
    expect(openBlob(key, await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id)).body).toEqual(legacyBody);
  });

  test('RSA-2048: p || q || dP || dQ || qInv || n (896 bytes) consistent with the public key; import signs', async () => {
    const wrapId = await putWrapKey(admin, { algorithm: Algorithm.AES192_CCM_WRAP, key });
    const id = await generateKey(admin, Algorithm.RSA_2048);
    const modulus = (await publicKey(admin, id)).publicKey;
    const blob = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id);
    const body = openBlob(key, blob).body;
    expect(body).toHaveLength(896);
    const int = (b: Uint8Array): bigint => BigInt(`0x${hex(b)}`);
    const [p, q, dp, dq, qi] = [0, 1, 2, 3, 4].map((i) => int(body.subarray(128 * i, 128 * (i + 1)))) as [bigint, bigint, bigint, bigint, bigint];
    expect(hex(body.subarray(640))).toBe(hex(modulus));
    expect(p * q).toBe(int(modulus));
    expect((qi * q) % p).toBe(1n);
    // e·dP ≡ 1 (mod p−1) and e·dQ ≡ 1 (mod q−1).
    expect((65537n * dp) % (p - 1n)).toBe(1n);
    expect((65537n * dq) % (q - 1n)).toBe(1n);

    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
    await importWrapped(admin, wrapId, blob);
    const message = Uint8Array.of(9, 9, 9);
    const signature = SignPkcs1.decodeResponse(
      await admin.send(Command.SIGN_PKCS1, SignPkcs1.encodeRequest({ keyId: id, digest: digest('sha256', message) })),
    ).signature;
    expect(verify('sha256', message, rsaPublicKeyFromDevice(modulus), signature)).toBe(true);
  });

  test('authentication and wrap keys: delegated capabilities || key', async () => {
    const wrapId = await putWrapKey(admin, { algorithm: Algorithm.AES192_CCM_WRAP, key });
    const inner = new Uint8Array(randomBytes(32));
    const innerId = await putWrapKey(admin, {
      algorithm: Algorithm.AES256_CCM_WRAP,
      key: inner,
      capabilities: Capability.WRAP_DATA | Capability.EXPORTABLE_UNDER_WRAP,
      delegatedCapabilities: Capability.SIGN_HMAC,
    });
    const wrapBody = openBlob(key, await exportWrapped(admin, wrapId, ObjectType.WRAP_KEY, innerId)).body;
    expect(hex(wrapBody)).toBe(`0000000000400000${hex(inner)}`);
    expect((await info(admin, innerId, ObjectType.WRAP_KEY)).length).toBe(40);

    const { encKey, macKey } = authKeyFromPassword('exported');
    await admin.send(
      Command.PUT_AUTHENTICATION_KEY,
      PutAuthenticationKey.encodeRequest({
        id: 0x30,
        label: label('auth'),
        domains: 1,
        capabilities: Capability.EXPORTABLE_UNDER_WRAP | Capability.GET_PSEUDO_RANDOM,
        algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
        delegatedCapabilities: Capability.SIGN_ECDSA,
        encKey,
        macKey,
      }),
    );
    const authBlob = await exportWrapped(admin, wrapId, ObjectType.AUTHENTICATION_KEY, 0x30);
    expect(hex(openBlob(key, authBlob).body)).toBe(`0000000000000080${hex(encKey)}${hex(macKey)}`);
    await deleteObject(admin, 0x30, ObjectType.AUTHENTICATION_KEY);
    await importWrapped(admin, wrapId, authBlob);
    const session = await TestSession.open(sim.url, 0x30, 'exported');
    expect((await info(session, 0x30, ObjectType.AUTHENTICATION_KEY)).delegatedCapabilities).toBe(Capability.SIGN_ECDSA);
  });
});

describe('PUT_WRAP_KEY and GENERATE_WRAP_KEY', () => {
  test.each([
    [Algorithm.AES128_CCM_WRAP, 24],
    [Algorithm.AES192_CCM_WRAP, 32],
    [Algorithm.AES256_CCM_WRAP, 40],
  ])('algorithm %i: object info shows the delegated set, origin and the device length', async (algorithm, length) => {
    const req = { id: 0x44, label: label('g'), domains: 3, capabilities: Capability.WRAP_DATA, algorithm, delegatedCapabilities: Capability.SIGN_HMAC };
    expect(GenerateWrapKey.decodeResponse(await admin.send(Command.GENERATE_WRAP_KEY, GenerateWrapKey.encodeRequest(req))).id).toBe(0x44);
    expect(await info(admin, 0x44, ObjectType.WRAP_KEY)).toMatchObject({
      length,
      origin: 0x01,
      domains: 3,
      algorithm,
      delegatedCapabilities: Capability.SIGN_HMAC,
    });
    // An AES wrap key has no public key.
    expect(await deviceCode(publicKey(admin, 0x44, ObjectType.WRAP_KEY))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('an RSA wrap key from p || q gives back its modulus; it cannot export (INVALID_DATA)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    const key = new Uint8Array(Buffer.concat([Buffer.from(jwk.p!, 'base64url'), Buffer.from(jwk.q!, 'base64url')]));
    const id = await putWrapKey(admin, { algorithm: Algorithm.RSA_2048, key, capabilities: EXPORT_IMPORT });
    expect(Buffer.from((await publicKey(admin, id, ObjectType.WRAP_KEY)).publicKey).toString('base64url')).toBe(jwk.n);
    expect((await info(admin, id, ObjectType.WRAP_KEY)).length).toBe(8 + 896);
    const target = await generateKey(admin, Algorithm.EC_P256);
    expect(await deviceCode(exportWrapped(admin, id, ObjectType.ASYMMETRIC_KEY, target))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test.each([
    ['a key of the wrong length', { key: new Uint8Array(24) }, DeviceErrorCode.WRONG_LENGTH],
    ['an algorithm that is not a wrap algorithm', { algorithm: Algorithm.AES128 }, DeviceErrorCode.INVALID_DATA],
    ['an RSA key whose p and q are not prime', { algorithm: Algorithm.RSA_2048, key: new Uint8Array(256).fill(0xff) }, DeviceErrorCode.INVALID_DATA],
    ['id 0xffff', { id: 0xffff }, DeviceErrorCode.INVALID_ID],
    ['no domain', { domains: 0 }, DeviceErrorCode.INVALID_DATA],
  ])('PUT_WRAP_KEY with %s is refused', async (_name, fields, code) => {
    const count = sim.device.objectCount();
    expect(await deviceCode(putWrapKey(admin, fields))).toBe(code);
    expect(sim.device.objectCount()).toBe(count);
  });

  test('GENERATE_WRAP_KEY with a non-wrap algorithm, and both commands over an existing ID', async () => {
    const req = { id: 0x50, label: label('g'), domains: 1, capabilities: 0n, algorithm: Algorithm.EC_P256, delegatedCapabilities: 0n };
    expect(await deviceCode(admin.send(Command.GENERATE_WRAP_KEY, GenerateWrapKey.encodeRequest(req)))).toBe(DeviceErrorCode.INVALID_DATA);
    await putWrapKey(admin, { id: 0x50 });
    const count = sim.device.objectCount();
    expect(await deviceCode(putWrapKey(admin, { id: 0x50 }))).toBe(DeviceErrorCode.OBJECT_EXISTS);
    const again = { ...req, algorithm: Algorithm.AES128_CCM_WRAP };
    expect(await deviceCode(admin.send(Command.GENERATE_WRAP_KEY, GenerateWrapKey.encodeRequest(again)))).toBe(DeviceErrorCode.OBJECT_EXISTS);
    expect(sim.device.objectCount()).toBe(count);
  });
});

describe('who may export and import', () => {
  async function limitedSession(capabilities: bigint, domains = 0xffff, delegatedCapabilities = ALL_CAPABILITIES): Promise<TestSession> {
    const { encKey, macKey } = authKeyFromPassword('limited');
    await admin.send(
      Command.PUT_AUTHENTICATION_KEY,
      PutAuthenticationKey.encodeRequest({
        id: 0x70,
        label: label('limited'),
        domains,
        capabilities,
        algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
        delegatedCapabilities,
        encKey,
        macKey,
      }),
    );
    return TestSession.open(sim.url, 0x70, 'limited');
  }

  test('the session needs export-wrapped / import-wrapped itself', async () => {
    const wrapId = await putWrapKey(admin);
    const id = await generateKey(admin, Algorithm.EC_P256);
    const blob = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id);
    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
    const user = await limitedSession(Capability.GET_PSEUDO_RANDOM);
    const count = sim.device.objectCount();
    expect(await deviceCode(exportWrapped(user, wrapId, ObjectType.WRAP_KEY, wrapId))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(importWrapped(user, wrapId, blob))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(sim.device.objectCount()).toBe(count);
  });

  test('the wrap key needs export-wrapped to export and import-wrapped to import', async () => {
    const key = new Uint8Array(16).fill(3);
    const exportOnly = await putWrapKey(admin, { key, capabilities: Capability.EXPORT_WRAPPED });
    const importOnly = await putWrapKey(admin, { key, capabilities: Capability.IMPORT_WRAPPED });
    const id = await generateKey(admin, Algorithm.EC_P256);
    expect(await deviceCode(exportWrapped(admin, importOnly, ObjectType.ASYMMETRIC_KEY, id))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const blob = await exportWrapped(admin, exportOnly, ObjectType.ASYMMETRIC_KEY, id);
    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
    const count = sim.device.objectCount();
    expect(await deviceCode(importWrapped(admin, exportOnly, blob))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(sim.device.objectCount()).toBe(count);
    await importWrapped(admin, importOnly, blob);
  });

  test('the object must be exportable-under-wrap and inside the wrap key delegated set, on export and on import', async () => {
    const key = new Uint8Array(16).fill(4);
    const narrow = await putWrapKey(admin, { key, delegatedCapabilities: Capability.SIGN_ECDSA });
    const wide = await putWrapKey(admin, { key, delegatedCapabilities: ALL_CAPABILITIES });
    const fixed = await generateKey(admin, Algorithm.EC_P256, { capabilities: Capability.SIGN_ECDSA });
    const exportable = await generateKey(admin, Algorithm.EC_P256, { capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP });
    expect(await deviceCode(exportWrapped(admin, wide, ObjectType.ASYMMETRIC_KEY, fixed))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    // exportable-under-wrap itself must be delegated.
    expect(await deviceCode(exportWrapped(admin, narrow, ObjectType.ASYMMETRIC_KEY, exportable))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const blob = await exportWrapped(admin, wide, ObjectType.ASYMMETRIC_KEY, exportable);
    await deleteObject(admin, exportable, ObjectType.ASYMMETRIC_KEY);
    // Same key bytes, narrower delegation: the blob decrypts but may not come in.
    expect(await deviceCode(importWrapped(admin, narrow, blob))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(info(admin, exportable, ObjectType.ASYMMETRIC_KEY))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });

  test('objects and wrap keys outside the session domains do not exist for it; imports land only in its domains', async () => {
    const wrapInOne = await putWrapKey(admin, { domains: 1 });
    const wrapInTwo = await putWrapKey(admin, { domains: 2 });
    const keyInOne = await generateKey(admin, Algorithm.EC_P256, { domains: 1 });
    const user = await limitedSession(EXPORT_IMPORT, 2);
    expect(await deviceCode(exportWrapped(user, wrapInOne, ObjectType.ASYMMETRIC_KEY, keyInOne))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(await deviceCode(exportWrapped(user, wrapInTwo, ObjectType.ASYMMETRIC_KEY, keyInOne))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    // A wrap key and an object with no domain in common.
    expect(await deviceCode(exportWrapped(admin, wrapInTwo, ObjectType.ASYMMETRIC_KEY, keyInOne))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const blob = await exportWrapped(admin, wrapInOne, ObjectType.ASYMMETRIC_KEY, keyInOne);
    await deleteObject(admin, keyInOne, ObjectType.ASYMMETRIC_KEY);
    expect(await deviceCode(importWrapped(user, wrapInOne, blob))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    // Same key bytes in a wrap key the user sees; the object belongs to domain 1, which the user is not in.
    const sameKeyInTwo = await putWrapKey(admin, { domains: 2, key: new Uint8Array(16).fill(7) });
    const count = sim.device.objectCount();
    expect(await deviceCode(importWrapped(user, sameKeyInTwo, blob))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(sim.device.objectCount()).toBe(count);
  });
});

describe('bad blobs and bad requests change nothing', () => {
  let wrapId: number;
  let blob: ExportWrapped.Response;
  beforeEach(async () => {
    wrapId = await putWrapKey(admin);
    const id = await generateKey(admin, Algorithm.EC_P256);
    blob = await exportWrapped(admin, wrapId, ObjectType.ASYMMETRIC_KEY, id);
    await deleteObject(admin, id, ObjectType.ASYMMETRIC_KEY);
  });

  const flip = (b: Uint8Array, at: number): Uint8Array => {
    const c = b.slice();
    c[at]! ^= 1;
    return c;
  };

  test.each([
    ['a flipped ciphertext bit', (b: ExportWrapped.Response) => ({ ...b, ciphertext: flip(b.ciphertext, 5) })],
    ['a flipped tag bit', (b: ExportWrapped.Response) => ({ ...b, ciphertext: flip(b.ciphertext, b.ciphertext.length - 1) })],
    ['a flipped nonce bit', (b: ExportWrapped.Response) => ({ ...b, nonce: flip(b.nonce, 0) })],
    ['a truncated ciphertext', (b: ExportWrapped.Response) => ({ ...b, ciphertext: b.ciphertext.subarray(1) })],
  ])('%s: INVALID_DATA', async (_name, tamper) => {
    const count = sim.device.objectCount();
    expect(await deviceCode(importWrapped(admin, wrapId, tamper(blob)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(sim.device.objectCount()).toBe(count);
  });

  test('a blob under another key, or under a key of another size: INVALID_DATA', async () => {
    const other = await putWrapKey(admin, { key: new Uint8Array(16).fill(8) });
    const bigger = await putWrapKey(admin, { algorithm: Algorithm.AES256_CCM_WRAP, key: new Uint8Array(32).fill(7) });
    expect(await deviceCode(importWrapped(admin, other, blob))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(importWrapped(admin, bigger, blob))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test.each([
    ['EXPORT_WRAPPED empty', Command.EXPORT_WRAPPED, '', DeviceErrorCode.WRONG_LENGTH],
    ['EXPORT_WRAPPED truncated', Command.EXPORT_WRAPPED, '000103', DeviceErrorCode.WRONG_LENGTH],
    ['EXPORT_WRAPPED with two format bytes', Command.EXPORT_WRAPPED, '00010300010101', DeviceErrorCode.WRONG_LENGTH],
    ['EXPORT_WRAPPED format 2', Command.EXPORT_WRAPPED, '000103000102', DeviceErrorCode.INVALID_DATA],
    ['EXPORT_WRAPPED of an unknown type', Command.EXPORT_WRAPPED, '0001200001', DeviceErrorCode.INVALID_DATA],
    ['EXPORT_WRAPPED of a missing object', Command.EXPORT_WRAPPED, '000103fffe', DeviceErrorCode.OBJECT_NOT_FOUND],
    ['IMPORT_WRAPPED with only a wrap key ID', Command.IMPORT_WRAPPED, '0001', DeviceErrorCode.WRONG_LENGTH],
    ['IMPORT_WRAPPED with a nonce and 15 bytes', Command.IMPORT_WRAPPED, `0001${'00'.repeat(28)}`, DeviceErrorCode.WRONG_LENGTH],
    ['IMPORT_WRAPPED under a missing wrap key', Command.IMPORT_WRAPPED, `fffe${'00'.repeat(45)}`, DeviceErrorCode.OBJECT_NOT_FOUND],
    ['PUT_WRAP_KEY empty', Command.PUT_WRAP_KEY, '', DeviceErrorCode.WRONG_LENGTH],
    ['GENERATE_WRAP_KEY one byte short', Command.GENERATE_WRAP_KEY, '00'.repeat(60), DeviceErrorCode.WRONG_LENGTH],
  ])('%s', async (_name, code, payloadHex, expected) => {
    const count = sim.device.objectCount();
    const payload = payloadHex.replace(/^0001/, wrapId.toString(16).padStart(4, '0'));
    expect(await deviceCode(admin.send(code, unhex(payload)))).toBe(expected);
    expect(sim.device.objectCount()).toBe(count);
  });

  test('a plaintext that decrypts but is not an object: INVALID_DATA', async () => {
    // Made here under the wrap key's bytes (7 × 16) with node:crypto: a header claiming more body than follows.
    const nonce = new Uint8Array(randomBytes(13));
    const plaintext = new Uint8Array(59 + 4);
    plaintext[0] = Algorithm.AES128_CCM_WRAP;
    plaintext[12] = 9;
    const cipher = createCipheriv('aes-128-ccm', new Uint8Array(16).fill(7), nonce, { authTagLength: 16 });
    cipher.setAAD(Buffer.alloc(0), { plaintextLength: plaintext.length });
    const ciphertext = new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
    expect(await deviceCode(importWrapped(admin, wrapId, { nonce, ciphertext }))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('a full device: STORAGE_FAILED, and nothing stored', async () => {
    while (sim.device.objectCount() < 256) await putWrapKey(admin, { capabilities: 0n, delegatedCapabilities: 0n });
    expect(await deviceCode(importWrapped(admin, wrapId, blob))).toBe(DeviceErrorCode.STORAGE_FAILED);
    expect(sim.device.objectCount()).toBe(256);
  });
});
