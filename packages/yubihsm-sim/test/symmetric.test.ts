// WRAP_DATA / UNWRAP_DATA, HMAC keys and AES keys against outside vectors (RFC 4231, RFC 2202,
// NIST SP 800-38A) and node:crypto; every refusal is the device's error code and changes nothing.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import {
  ALL_CAPABILITIES,
  Algorithm,
  Capability,
  Command,
  DecryptCbc,
  DecryptEcb,
  DeviceErrorCode,
  EncryptCbc,
  EncryptEcb,
  ExportWrapped,
  GenerateHmacKey,
  GenerateSymmetricKey,
  GetObjectInfo,
  ImportWrapped,
  ObjectType,
  PutAuthenticationKey,
  PutHmacKey,
  PutSymmetricKey,
  PutWrapKey,
  SignHmac,
  UnwrapData,
  VerifyHmac,
  WrapData,
  authKeyFromPassword,
} from '@kmsgate/yubihsm';
import { FIRMWARE, startSimulator, type RunningSimulator } from '../src';
import { hex, loadVectors, unhex } from '../../yubihsm/test/helpers/vectors';
import { deviceCode, TestSession } from './helpers/client';

let sim: RunningSimulator;
let admin: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const header = { id: 0, label: label('k'), domains: 1 };

async function expectRefused(p: Promise<unknown>, code: number): Promise<void> {
  const count = sim.device.objectCount();
  expect(await deviceCode(p)).toBe(code);
  expect(sim.device.objectCount()).toBe(count);
}

async function limitedSession(capabilities: bigint, domains = 0xffff): Promise<TestSession> {
  const { encKey, macKey } = authKeyFromPassword('limited');
  const req = {
    id: 0x70,
    label: label('limited'),
    domains,
    capabilities,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    delegatedCapabilities: 0n,
    encKey,
    macKey,
  };
  await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(req));
  return TestSession.open(sim.url, 0x70, 'limited');
}

async function info(id: number, type: number): Promise<GetObjectInfo.Response> {
  return GetObjectInfo.decodeResponse(await admin.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id, type })));
}

describe('WRAP_DATA and UNWRAP_DATA', () => {
  const key = new Uint8Array(randomBytes(32));
  const putWrapKey = async (capabilities: bigint, fields: Partial<PutWrapKey.Request> = {}): Promise<number> =>
    PutWrapKey.decodeResponse(
      await admin.send(
        Command.PUT_WRAP_KEY,
        PutWrapKey.encodeRequest({ ...header, capabilities, algorithm: Algorithm.AES256_CCM_WRAP, delegatedCapabilities: 0n, key, ...fields }),
      ),
    ).id;
  const wrap = async (s: TestSession, keyId: number, data: Uint8Array): Promise<WrapData.Response> =>
    WrapData.decodeResponse(await s.send(Command.WRAP_DATA, WrapData.encodeRequest({ keyId, data })));
  const unwrap = async (s: TestSession, keyId: number, blob: WrapData.Response): Promise<Uint8Array> =>
    UnwrapData.decodeResponse(await s.send(Command.UNWRAP_DATA, UnwrapData.encodeRequest({ keyId, ...blob }))).data;

  /** AES-256-CCM with node:crypto: what the device's output must be under the PUT key. */
  function openWithNode(blob: WrapData.Response): Uint8Array {
    const body = blob.ciphertext.subarray(0, blob.ciphertext.length - 16);
    const d = createDecipheriv('aes-256-ccm', key, blob.nonce, { authTagLength: 16 });
    d.setAuthTag(blob.ciphertext.subarray(blob.ciphertext.length - 16));
    d.setAAD(Buffer.alloc(0), { plaintextLength: body.length });
    return new Uint8Array(Buffer.concat([d.update(body), d.final()]));
  }

  function sealWithNode(plaintext: Uint8Array): WrapData.Response {
    const nonce = new Uint8Array(randomBytes(13));
    const c = createCipheriv('aes-256-ccm', key, nonce, { authTagLength: 16 });
    c.setAAD(Buffer.alloc(0), { plaintextLength: plaintext.length });
    return { nonce, ciphertext: new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])) };
  }

  test('AES-CCM of 00 || data under the wrap key, 30 bytes of overhead, up to 3086 bytes; offline blobs unwrap', async () => {
    const id = await putWrapKey(Capability.WRAP_DATA | Capability.UNWRAP_DATA);
    // 3082 is the most whose blob still fits an UNWRAP_DATA request; 3086 the most WRAP_DATA answers.
    expect((await wrap(admin, id, new Uint8Array(3086))).ciphertext).toHaveLength(3086 + 17);
    for (const size of [1, 16, 1989, 3082]) {
      const data = new Uint8Array(randomBytes(size));
      const blob = await wrap(admin, id, data);
      expect(blob.nonce.length + blob.ciphertext.length).toBe(size + WrapData.WRAP_DATA_OVERHEAD);
      expect(hex(openWithNode(blob))).toBe(`00${hex(data)}`);
      expect(hex(await unwrap(admin, id, blob))).toBe(hex(data));
    }
    expect(hex(await unwrap(admin, id, sealWithNode(Uint8Array.of(0, 1, 2, 3))))).toBe('010203');
    // Without the leading nul byte, or with nothing after it: INVALID_DATA.
    await expectRefused(unwrap(admin, id, sealWithNode(Uint8Array.of(1, 2, 3))), DeviceErrorCode.INVALID_DATA);
    await expectRefused(unwrap(admin, id, sealWithNode(Uint8Array.of(0))), DeviceErrorCode.INVALID_DATA);
    await expectRefused(wrap(admin, id, new Uint8Array(0)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(wrap(admin, id, new Uint8Array(3087)), DeviceErrorCode.WRONG_LENGTH);
  });

  test('wrapped data and wrapped objects do not pass for each other', async () => {
    const id = await putWrapKey(Capability.WRAP_DATA | Capability.UNWRAP_DATA | Capability.EXPORT_WRAPPED | Capability.IMPORT_WRAPPED, {
      delegatedCapabilities: ALL_CAPABILITIES,
    });
    const dataBlob = await wrap(admin, id, new Uint8Array(80));
    await expectRefused(admin.send(Command.IMPORT_WRAPPED, ImportWrapped.encodeRequest({ wrapKeyId: id, ...dataBlob })), DeviceErrorCode.INVALID_DATA);
    const keyId = GenerateSymmetricKey.decodeResponse(
      await admin.send(
        Command.GENERATE_SYMMETRIC_KEY,
        GenerateSymmetricKey.encodeRequest({ ...header, capabilities: Capability.EXPORTABLE_UNDER_WRAP, algorithm: Algorithm.AES128 }),
      ),
    ).id;
    const objectBlob = ExportWrapped.decodeResponse(
      await admin.send(Command.EXPORT_WRAPPED, ExportWrapped.encodeRequest({ wrapKeyId: id, type: ObjectType.SYMMETRIC_KEY, id: keyId })),
    );
    await expectRefused(unwrap(admin, id, objectBlob), DeviceErrorCode.INVALID_DATA);
  });

  test('a key may wrap or unwrap only with the matching capability (firmware 2.4: INVALID_DATA; 2.5+: INSUFFICIENT_PERMISSIONS)', async () => {
    const wrapOnly = await putWrapKey(Capability.WRAP_DATA);
    const unwrapOnly = await putWrapKey(Capability.UNWRAP_DATA);
    const code = FIRMWARE.minor >= 5 ? DeviceErrorCode.INSUFFICIENT_PERMISSIONS : DeviceErrorCode.INVALID_DATA;
    const blob = await wrap(admin, wrapOnly, Uint8Array.of(7));
    await expectRefused(wrap(admin, unwrapOnly, Uint8Array.of(7)), code);
    await expectRefused(unwrap(admin, wrapOnly, blob), code);
    expect([...(await unwrap(admin, unwrapOnly, blob))]).toEqual([7]);
    const user = await limitedSession(Capability.UNWRAP_DATA);
    await expectRefused(wrap(user, wrapOnly, Uint8Array.of(7)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('bad requests: truncated, tampered, missing key, key in another domain', async () => {
    const id = await putWrapKey(Capability.WRAP_DATA | Capability.UNWRAP_DATA);
    const blob = await wrap(admin, id, Uint8Array.of(1, 2, 3));
    const tampered = { ...blob, ciphertext: blob.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await expectRefused(unwrap(admin, id, tampered), DeviceErrorCode.INVALID_DATA);
    await expectRefused(admin.send(Command.UNWRAP_DATA, unhex(`${hex(Uint8Array.of(id >> 8, id & 0xff))}${'00'.repeat(28)}`)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(admin.send(Command.WRAP_DATA, Uint8Array.of(0)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(wrap(admin, 0xfffe, Uint8Array.of(1)), DeviceErrorCode.OBJECT_NOT_FOUND);
    const inTwo = await putWrapKey(Capability.WRAP_DATA, { domains: 2 });
    const user = await limitedSession(Capability.WRAP_DATA, 1);
    await expectRefused(wrap(user, inTwo, Uint8Array.of(1)), DeviceErrorCode.OBJECT_NOT_FOUND);
  });
});

describe('HMAC keys', () => {
  interface HmacCase {
    hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
    key: string;
    data: string;
    mac: string;
  }
  const vectors = loadVectors<HmacCase>('rfc4231-hmac');
  const ALGORITHM = { sha1: Algorithm.HMAC_SHA1, sha256: Algorithm.HMAC_SHA256, sha384: Algorithm.HMAC_SHA384, sha512: Algorithm.HMAC_SHA512 };
  const BLOCK = { sha1: 64, sha256: 64, sha384: 128, sha512: 128 };
  const BOTH = Capability.SIGN_HMAC | Capability.VERIFY_HMAC;

  const putKey = async (algorithm: number, key: Uint8Array, fields: Partial<PutHmacKey.Request> = {}): Promise<number> =>
    PutHmacKey.decodeResponse(await admin.send(Command.PUT_HMAC_KEY, PutHmacKey.encodeRequest({ ...header, capabilities: BOTH, algorithm, key, ...fields })))
      .id;
  const sign = async (s: TestSession, keyId: number, data: Uint8Array): Promise<Uint8Array> =>
    SignHmac.decodeResponse(await s.send(Command.SIGN_HMAC, SignHmac.encodeRequest({ keyId, data }))).data;
  const verify = async (s: TestSession, keyId: number, mac: Uint8Array, data: Uint8Array): Promise<boolean> =>
    VerifyHmac.decodeResponse(await s.send(Command.VERIFY_HMAC, VerifyHmac.encodeRequest({ keyId, mac, data }))).valid;

  test.each(vectors.cases)(`${vectors.source.slice(0, 40)}…: $comment`, async (v) => {
    // A key longer than the block is hashed by the caller first (RFC 2104 §2), as python-yubihsm does.
    const raw = unhex(v.key);
    const key = raw.length > BLOCK[v.hash] ? new Uint8Array(createHash(v.hash).update(raw).digest()) : raw;
    const id = await putKey(ALGORITHM[v.hash], key);
    expect(hex(await sign(admin, id, unhex(v.data)))).toBe(v.mac);
    expect(await verify(admin, id, unhex(v.mac), unhex(v.data))).toBe(true);
    const wrong = unhex(v.mac);
    wrong[0]! ^= 1;
    expect(await verify(admin, id, wrong, unhex(v.data))).toBe(false);
  });

  test.each([
    [Algorithm.HMAC_SHA1, 20, 64],
    [Algorithm.HMAC_SHA256, 32, 64],
    [Algorithm.HMAC_SHA384, 48, 128],
    [Algorithm.HMAC_SHA512, 64, 128],
  ])('GENERATE_HMAC_KEY %i: %i-byte MACs, the same for the same data; the device length is both padded keys', async (algorithm, macLength, block) => {
    const id = GenerateHmacKey.decodeResponse(
      await admin.send(Command.GENERATE_HMAC_KEY, GenerateHmacKey.encodeRequest({ ...header, capabilities: BOTH, algorithm })),
    ).id;
    const data = new Uint8Array(randomBytes(64));
    const mac = await sign(admin, id, data);
    expect(mac).toHaveLength(macLength);
    expect(hex(await sign(admin, id, data))).toBe(hex(mac));
    expect(await verify(admin, id, mac, data)).toBe(true);
    expect(await info(id, ObjectType.HMAC_KEY)).toMatchObject({ length: 2 * block, origin: 0x01, algorithm });
  });

  test('exported under wrap as (K xor ipad) || (K xor opad) and working again after import', async () => {
    const wrapKey = new Uint8Array(16).fill(9);
    const wrapId = PutWrapKey.decodeResponse(
      await admin.send(
        Command.PUT_WRAP_KEY,
        PutWrapKey.encodeRequest({
          ...header,
          capabilities: Capability.EXPORT_WRAPPED | Capability.IMPORT_WRAPPED,
          algorithm: Algorithm.AES128_CCM_WRAP,
          delegatedCapabilities: ALL_CAPABILITIES,
          key: wrapKey,
        }),
      ),
    ).id;
    const key = new TextEncoder().encode('Jefe');
    const id = await putKey(Algorithm.HMAC_SHA256, key, { capabilities: BOTH | Capability.EXPORTABLE_UNDER_WRAP });
    const blob = ExportWrapped.decodeResponse(
      await admin.send(Command.EXPORT_WRAPPED, ExportWrapped.encodeRequest({ wrapKeyId: wrapId, type: ObjectType.HMAC_KEY, id })),
    );
    const body = blob.ciphertext.subarray(0, blob.ciphertext.length - 16);
    const d = createDecipheriv('aes-128-ccm', wrapKey, blob.nonce, { authTagLength: 16 });
    d.setAuthTag(blob.ciphertext.subarray(blob.ciphertext.length - 16));
    d.setAAD(Buffer.alloc(0), { plaintextLength: body.length });
    const pads = Buffer.concat([d.update(body), d.final()]).subarray(59);
    const padded = Buffer.alloc(64);
    padded.set(key);
    expect(hex(pads)).toBe(hex(Buffer.concat([padded.map((b) => b ^ 0x36), padded.map((b) => b ^ 0x5c)])));
    const data = new TextEncoder().encode('what do ya want for nothing?');
    const mac = createHmac('sha256', key).update(data).digest();
    await admin.send(Command.DELETE_OBJECT, Uint8Array.of(id >> 8, id & 0xff, ObjectType.HMAC_KEY));
    await admin.send(Command.IMPORT_WRAPPED, ImportWrapped.encodeRequest({ wrapKeyId: wrapId, ...blob }));
    expect(hex(await sign(admin, id, data))).toBe(hex(mac));
  });

  test('refusals: key lengths, algorithms, capabilities, types, domains, short VERIFY_HMAC', async () => {
    await expectRefused(putKey(Algorithm.HMAC_SHA256, new Uint8Array(65)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(putKey(Algorithm.HMAC_SHA512, new Uint8Array(129)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(putKey(Algorithm.HMAC_SHA1, new Uint8Array(0)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(putKey(Algorithm.RSA_PSS_SHA256, new Uint8Array(32)), DeviceErrorCode.INVALID_DATA);
    await expectRefused(
      admin.send(Command.GENERATE_HMAC_KEY, GenerateHmacKey.encodeRequest({ ...header, capabilities: 0n, algorithm: Algorithm.AES128 })),
      DeviceErrorCode.INVALID_DATA,
    );
    const signOnly = await putKey(Algorithm.HMAC_SHA256, new Uint8Array(32).fill(1), { capabilities: Capability.SIGN_HMAC });
    const mac = await sign(admin, signOnly, Uint8Array.of(1));
    await expectRefused(verify(admin, signOnly, mac, Uint8Array.of(1)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const user = await limitedSession(Capability.VERIFY_HMAC, 1);
    await expectRefused(sign(user, signOnly, Uint8Array.of(1)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await expectRefused(
      user.send(Command.PUT_HMAC_KEY, PutHmacKey.encodeRequest({ ...header, capabilities: 0n, algorithm: Algorithm.HMAC_SHA256, key: new Uint8Array(32) })),
      DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
    );
    // The same ID names no HMAC key of another type; a key outside the session's domains does not exist.
    await expectRefused(sign(admin, 1, Uint8Array.of(1)), DeviceErrorCode.OBJECT_NOT_FOUND);
    const inTwo = await putKey(Algorithm.HMAC_SHA256, new Uint8Array(32), { domains: 2 });
    await expectRefused(verify(user, inTwo, mac, Uint8Array.of(1)), DeviceErrorCode.OBJECT_NOT_FOUND);
    await expectRefused(admin.send(Command.VERIFY_HMAC, Uint8Array.of(signOnly >> 8, signOnly & 0xff, 1, 2)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const both = await putKey(Algorithm.HMAC_SHA256, new Uint8Array(32));
    await expectRefused(admin.send(Command.VERIFY_HMAC, Uint8Array.of(both >> 8, both & 0xff, 1, 2)), DeviceErrorCode.WRONG_LENGTH);
  });
});

describe('AES keys: ENCRYPT/DECRYPT_ECB/CBC', () => {
  interface AesCase {
    mode: 'ecb' | 'cbc';
    key: string;
    iv?: string;
    plaintext: string;
    ciphertext: string;
  }
  const vectors = loadVectors<AesCase>('nist-sp800-38a-aes');
  const AES = { 16: Algorithm.AES128, 24: Algorithm.AES192, 32: Algorithm.AES256 } as Record<number, number>;
  const ALL_AES = Capability.ENCRYPT_ECB | Capability.DECRYPT_ECB | Capability.ENCRYPT_CBC | Capability.DECRYPT_CBC;

  const putKey = async (key: Uint8Array, fields: Partial<PutSymmetricKey.Request> = {}): Promise<number> =>
    PutSymmetricKey.decodeResponse(
      await admin.send(
        Command.PUT_SYMMETRIC_KEY,
        PutSymmetricKey.encodeRequest({ ...header, capabilities: ALL_AES, algorithm: AES[key.length]!, key, ...fields }),
      ),
    ).id;
  const ecb = async (s: TestSession, encrypt: boolean, keyId: number, data: Uint8Array): Promise<Uint8Array> => {
    const codec = encrypt ? EncryptEcb : DecryptEcb;
    return codec.decodeResponse(await s.send(codec.CODE, codec.encodeRequest({ keyId, data }))).data;
  };
  const cbc = async (s: TestSession, encrypt: boolean, keyId: number, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> => {
    const codec = encrypt ? EncryptCbc : DecryptCbc;
    return codec.decodeResponse(await s.send(codec.CODE, codec.encodeRequest({ keyId, iv, data }))).data;
  };

  test.each(vectors.cases)('$comment', async (v) => {
    const id = await putKey(unhex(v.key));
    const pt = unhex(v.plaintext);
    const ct = unhex(v.ciphertext);
    if (v.mode === 'ecb') {
      expect(hex(await ecb(admin, true, id, pt))).toBe(v.ciphertext);
      expect(hex(await ecb(admin, false, id, ct))).toBe(v.plaintext);
    } else {
      expect(hex(await cbc(admin, true, id, unhex(v.iv!), pt))).toBe(v.ciphertext);
      expect(hex(await cbc(admin, false, id, unhex(v.iv!), ct))).toBe(v.plaintext);
    }
  });

  test.each([
    [Algorithm.AES128, 16],
    [Algorithm.AES192, 24],
    [Algorithm.AES256, 32],
  ])('GENERATE_SYMMETRIC_KEY %i: 3 KiB round trips in both modes; length %i; exported under wrap as the bare key', async (algorithm, length) => {
    const id = GenerateSymmetricKey.decodeResponse(
      await admin.send(
        Command.GENERATE_SYMMETRIC_KEY,
        GenerateSymmetricKey.encodeRequest({ ...header, capabilities: ALL_AES | Capability.EXPORTABLE_UNDER_WRAP, algorithm }),
      ),
    ).id;
    expect(await info(id, ObjectType.SYMMETRIC_KEY)).toMatchObject({ length, origin: 0x01, algorithm });
    const data = new Uint8Array(randomBytes(3072));
    const iv = new Uint8Array(randomBytes(16));
    expect(hex(await ecb(admin, false, id, await ecb(admin, true, id, data)))).toBe(hex(data));
    expect(hex(await cbc(admin, false, id, iv, await cbc(admin, true, id, iv, data)))).toBe(hex(data));

    // The key in clear inside the wrap is checked against node:crypto's AES over the same data.
    const wrapKey = new Uint8Array(16).fill(3);
    const wrapId = PutWrapKey.decodeResponse(
      await admin.send(
        Command.PUT_WRAP_KEY,
        PutWrapKey.encodeRequest({
          ...header,
          capabilities: Capability.EXPORT_WRAPPED,
          algorithm: Algorithm.AES128_CCM_WRAP,
          delegatedCapabilities: ALL_CAPABILITIES,
          key: wrapKey,
        }),
      ),
    ).id;
    const blob = ExportWrapped.decodeResponse(
      await admin.send(Command.EXPORT_WRAPPED, ExportWrapped.encodeRequest({ wrapKeyId: wrapId, type: ObjectType.SYMMETRIC_KEY, id })),
    );
    const body = blob.ciphertext.subarray(0, blob.ciphertext.length - 16);
    const d = createDecipheriv('aes-128-ccm', wrapKey, blob.nonce, { authTagLength: 16 });
    d.setAuthTag(blob.ciphertext.subarray(blob.ciphertext.length - 16));
    d.setAAD(Buffer.alloc(0), { plaintextLength: body.length });
    const key = Buffer.concat([d.update(body), d.final()]).subarray(59);
    expect(key).toHaveLength(length);
    const c = createCipheriv(`aes-${length * 8}-ecb`, key, null).setAutoPadding(false);
    expect(hex(await ecb(admin, true, id, data.subarray(0, 32)))).toBe(hex(Buffer.concat([c.update(data.subarray(0, 32)), c.final()])));
  });

  test('refusals: partial blocks, key lengths, algorithms, capabilities, types', async () => {
    const id = await putKey(new Uint8Array(16).fill(1), { capabilities: Capability.ENCRYPT_ECB });
    await expectRefused(ecb(admin, true, id, new Uint8Array(15)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(ecb(admin, true, id, new Uint8Array(0)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(admin.send(Command.ENCRYPT_CBC, Uint8Array.of(id >> 8, id & 0xff, 1, 2, 3)), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(ecb(admin, false, id, new Uint8Array(16)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await expectRefused(cbc(admin, true, id, new Uint8Array(16), new Uint8Array(16)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await expectRefused(putKey(new Uint8Array(24), { algorithm: Algorithm.AES128 }), DeviceErrorCode.WRONG_LENGTH);
    await expectRefused(putKey(new Uint8Array(16), { algorithm: Algorithm.AES128_CCM_WRAP }), DeviceErrorCode.INVALID_DATA);
    await expectRefused(
      admin.send(Command.GENERATE_SYMMETRIC_KEY, GenerateSymmetricKey.encodeRequest({ ...header, capabilities: 0n, algorithm: Algorithm.HMAC_SHA256 })),
      DeviceErrorCode.INVALID_DATA,
    );
    await expectRefused(ecb(admin, true, 1, new Uint8Array(16)), DeviceErrorCode.OBJECT_NOT_FOUND);
    const user = await limitedSession(Capability.DECRYPT_ECB);
    await expectRefused(ecb(user, true, id, new Uint8Array(16)), DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await expectRefused(
      user.send(
        Command.PUT_SYMMETRIC_KEY,
        PutSymmetricKey.encodeRequest({ ...header, capabilities: 0n, algorithm: Algorithm.AES128, key: new Uint8Array(16) }),
      ),
      DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
    );
  });
});
