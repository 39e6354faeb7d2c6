// Every command the simulator answers inside a session, checked against the documented layouts
// and, for signatures, against node:crypto.
import { randomBytes } from 'node:crypto';
import {
  ALL_CAPABILITIES,
  Algorithm,
  Capability,
  Command,
  DeleteObject,
  DeviceErrorCode,
  DeviceInfo,
  GenerateAsymmetricKey,
  GetObjectInfo,
  GetPseudoRandom,
  GetPublicKey,
  ListObjects,
  ObjectType,
  PutAuthenticationKey,
  SignEcdsa,
  SignEddsa,
  authKeyFromPassword,
  frame,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, TestSession } from './helpers/client';
import { digest, publicKeyFromDevice, verifyEcdsa, verifyEd25519 } from './helpers/verify';

let sim: RunningSimulator;
let session: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, serial: 42 });
  session = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

async function generate(s: TestSession, algorithm: number, fields: Partial<GenerateAsymmetricKey.Request> = {}): Promise<number> {
  const req = { id: 0, label: label('k'), domains: 1, capabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA, algorithm, ...fields };
  return GenerateAsymmetricKey.decodeResponse(await s.send(Command.GENERATE_ASYMMETRIC_KEY, GenerateAsymmetricKey.encodeRequest(req))).id;
}

async function publicKey(s: TestSession, keyId: number): Promise<GetPublicKey.Response> {
  return GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId })));
}

async function info(s: TestSession, id: number, type: number): Promise<GetObjectInfo.Response> {
  return GetObjectInfo.decodeResponse(await s.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id, type })));
}

async function list(s: TestSession, filter: ListObjects.Request = {}): Promise<ListObjects.ListedObject[]> {
  return ListObjects.decodeResponse(await s.send(Command.LIST_OBJECTS, ListObjects.encodeRequest(filter))).objects;
}

async function signEcdsa(s: TestSession, keyId: number, hash: Uint8Array): Promise<Uint8Array> {
  return SignEcdsa.decodeResponse(await s.send(Command.SIGN_ECDSA, SignEcdsa.encodeRequest({ keyId, digest: hash }))).signature;
}

test('ECHO and DEVICE_INFO work inside a session too', async () => {
  expect([...(await session.send(Command.ECHO, Uint8Array.of(5, 6)))]).toEqual([5, 6]);
  const infoReply = DeviceInfo.decodeResponse(await session.send(Command.DEVICE_INFO));
  expect(infoReply).toMatchObject({ major: 2, minor: 4, build: 0, serial: 42 });
});

describe('GENERATE_ASYMMETRIC_KEY, GET_PUBLIC_KEY and SIGN_ECDSA', () => {
  const cases = [
    { name: 'ecp256', algorithm: Algorithm.EC_P256, size: 32, hashes: ['sha256', 'sha1', 'sha384', 'sha512'] },
    { name: 'ecp384', algorithm: Algorithm.EC_P384, size: 48, hashes: ['sha384', 'sha256', 'sha512'] },
    { name: 'ecp521', algorithm: Algorithm.EC_P521, size: 66, hashes: ['sha512', 'sha256', 'sha1'] },
    { name: 'eck256', algorithm: Algorithm.EC_K256, size: 32, hashes: ['sha256', 'sha512'] },
  ] as const;

  test.each(cases)('$name: X||Y public key, DER signatures that OpenSSL verifies for any hash size', async ({ algorithm, size, hashes }) => {
    const id = await generate(session, algorithm);
    const pub = await publicKey(session, id);
    expect(pub.algorithm).toBe(algorithm);
    expect(pub.publicKey.length).toBe(2 * size);
    const key = publicKeyFromDevice(algorithm, pub.publicKey);
    for (const hash of hashes) {
      const message = new Uint8Array(randomBytes(100));
      const sig = await signEcdsa(session, id, digest(hash, message));
      expect(sig[0]).toBe(0x30);
      expect(verifyEcdsa(key, hash, message, sig)).toBe(true);
      expect(verifyEcdsa(key, hash, Uint8Array.of(...message.subarray(1), 0), sig)).toBe(false);
    }
  });

  test('signatures are randomised and not normalised to low S', async () => {
    const id = await generate(session, Algorithm.EC_K256);
    const hash = digest('sha256', label('same message'));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    let highS = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const sig = await signEcdsa(session, id, hash);
      seen.add(Buffer.from(sig).toString('hex'));
      const rLen = sig[3]!;
      const sLen = sig[5 + rLen]!;
      const s = BigInt(`0x${Buffer.from(sig.subarray(6 + rLen, 6 + rLen + sLen)).toString('hex')}`);
      if (s > n / 2n) highS++;
    }
    expect(seen.size).toBe(24);
    // 24 fair coin flips all landing low has probability 2^-24.
    expect(highS).toBeGreaterThan(0);
  });

  test('an empty or over-long digest is WRONG_LENGTH', async () => {
    const id = await generate(session, Algorithm.EC_P256);
    expect(await deviceCode(signEcdsa(session, id, new Uint8Array(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(signEcdsa(session, id, new Uint8Array(67)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });

  test('SIGN_ECDSA with an Ed25519 key is INVALID_DATA', async () => {
    const id = await generate(session, Algorithm.EC_ED25519, { capabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA });
    expect(await deviceCode(signEcdsa(session, id, new Uint8Array(32)))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('SIGN_ECDSA on a missing key is OBJECT_NOT_FOUND', async () => {
    expect(await deviceCode(signEcdsa(session, 0x1234, new Uint8Array(32)))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });

  test('algorithm codes that name no asymmetric key are INVALID_DATA', async () => {
    for (const algorithm of [Algorithm.EC_ECDSA_SHA256, Algorithm.HMAC_SHA256, Algorithm.OPAQUE_DATA, 0, 200]) {
      expect(await deviceCode(generate(session, algorithm))).toBe(DeviceErrorCode.INVALID_DATA);
    }
  });
});

describe('SIGN_EDDSA', () => {
  test('pure Ed25519 over the message; the 32-byte public key verifies it', async () => {
    const id = await generate(session, Algorithm.EC_ED25519);
    const pub = await publicKey(session, id);
    expect(pub).toMatchObject({ algorithm: Algorithm.EC_ED25519 });
    expect(pub.publicKey.length).toBe(32);
    const key = publicKeyFromDevice(Algorithm.EC_ED25519, pub.publicKey);
    for (const length of [0, 1, 32, 1000, 3000]) {
      const message = new Uint8Array(randomBytes(length));
      const sig = SignEddsa.decodeResponse(await session.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: id, message }))).signature;
      expect(sig.length).toBe(64);
      expect(verifyEd25519(key, message, sig)).toBe(true);
    }
  });

  test('SIGN_EDDSA with an ECDSA key is INVALID_DATA', async () => {
    const id = await generate(session, Algorithm.EC_P256);
    expect(await deviceCode(session.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: id, message: label('m') })))).toBe(DeviceErrorCode.INVALID_DATA);
  });
});

describe('GET_PUBLIC_KEY', () => {
  test('an authentication key has no public key to give: OBJECT_NOT_FOUND', async () => {
    expect(await deviceCode(publicKey(session, 1))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });

  test('the firmware 2.4 type byte: asymmetric works, wrap-key types find nothing, others are INVALID_DATA', async () => {
    const id = await generate(session, Algorithm.EC_P256);
    const withType = GetPublicKey.decodeResponse(
      await session.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: id, objectType: ObjectType.ASYMMETRIC_KEY })),
    );
    expect(withType.publicKey).toEqual((await publicKey(session, id)).publicKey);
    expect(await deviceCode(session.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: id, objectType: ObjectType.WRAP_KEY })))).toBe(
      DeviceErrorCode.OBJECT_NOT_FOUND,
    );
    expect(await deviceCode(session.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: id, objectType: ObjectType.OPAQUE })))).toBe(
      DeviceErrorCode.INVALID_DATA,
    );
  });

  test('a wrong payload length is WRONG_LENGTH', async () => {
    expect(await deviceCode(session.send(Command.GET_PUBLIC_KEY, Uint8Array.of(1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(session.send(Command.GET_PUBLIC_KEY, Uint8Array.of(0, 1, 3, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });
});

describe('GET_OBJECT_INFO', () => {
  test('the default authentication key', async () => {
    const o = await info(session, 1, ObjectType.AUTHENTICATION_KEY);
    expect(o).toEqual({
      capabilities: ALL_CAPABILITIES,
      id: 1,
      length: 40,
      domains: 0xffff,
      type: ObjectType.AUTHENTICATION_KEY,
      algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
      sequence: 0,
      origin: 0x02,
      label: label('DEFAULT AUTHKEY CHANGE THIS ASAP'),
      delegatedCapabilities: ALL_CAPABILITIES,
    });
  });

  test('a generated key: 66 bytes with the given id, label, domains and capabilities, origin generated', async () => {
    const id = await generate(session, Algorithm.EC_P384, {
      id: 0x0102,
      label: label('my key'),
      domains: 0b101,
      capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
    });
    expect(id).toBe(0x0102);
    const raw = await session.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id, type: ObjectType.ASYMMETRIC_KEY }));
    expect(raw.length).toBe(66);
    expect(GetObjectInfo.decodeResponse(raw)).toEqual({
      capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
      id: 0x0102,
      length: 144,
      domains: 0b101,
      type: ObjectType.ASYMMETRIC_KEY,
      algorithm: Algorithm.EC_P384,
      sequence: 0,
      origin: 0x01,
      label: label('my key'),
      delegatedCapabilities: 0n,
    });
  });

  test('a 40-byte label survives unpadded', async () => {
    const full = label('0123456789012345678901234567890123456789');
    const id = await generate(session, Algorithm.EC_P256, { label: full });
    expect((await info(session, id, ObjectType.ASYMMETRIC_KEY)).label).toEqual(full);
  });

  test('stored lengths per algorithm', async () => {
    const expected: Array<[number, number]> = [
      [Algorithm.EC_P256, 96],
      [Algorithm.EC_K256, 96],
      [Algorithm.EC_P521, 198],
      [Algorithm.EC_ED25519, 128],
    ];
    for (const [algorithm, length] of expected) {
      const id = await generate(session, algorithm);
      expect((await info(session, id, ObjectType.ASYMMETRIC_KEY)).length).toBe(length);
    }
  });

  test('a missing object is OBJECT_NOT_FOUND; the same id under another type is a different object', async () => {
    const id = await generate(session, Algorithm.EC_P256);
    expect(await deviceCode(info(session, id, ObjectType.AUTHENTICATION_KEY))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(await deviceCode(info(session, 0x7777, ObjectType.ASYMMETRIC_KEY))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });

  test('an unknown object type is INVALID_DATA', async () => {
    expect(await deviceCode(info(session, 1, 0x42))).toBe(DeviceErrorCode.INVALID_DATA);
  });
});

describe('object ids and sequence numbers', () => {
  test('id 0 lets the device pick distinct free ids', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 10; i++) ids.add(await generate(session, Algorithm.EC_P256));
    expect(ids.size).toBe(10);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect(id).toBeLessThanOrEqual(0xfffe);
  });

  test('an existing (type, id) is OBJECT_EXISTS; 0xFFFF is INVALID_ID', async () => {
    await generate(session, Algorithm.EC_P256, { id: 0x20 });
    expect(await deviceCode(generate(session, Algorithm.EC_P256, { id: 0x20 }))).toBe(DeviceErrorCode.OBJECT_EXISTS);
    expect(await deviceCode(generate(session, Algorithm.EC_P256, { id: 0xffff }))).toBe(DeviceErrorCode.INVALID_ID);
  });

  test('re-creating an id after deleting it bumps its sequence', async () => {
    for (let round = 0; round < 3; round++) {
      await generate(session, Algorithm.EC_P256, { id: 0x30 });
      expect((await info(session, 0x30, ObjectType.ASYMMETRIC_KEY)).sequence).toBe(round);
      expect(await list(session, { id: 0x30 })).toEqual([{ id: 0x30, type: ObjectType.ASYMMETRIC_KEY, sequence: round }]);
      await session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x30, type: ObjectType.ASYMMETRIC_KEY }));
    }
  });

  test('an object without domains is INVALID_DATA', async () => {
    expect(await deviceCode(generate(session, Algorithm.EC_P256, { domains: 0 }))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('storage holds 256 objects; the next is STORAGE_FAILED', async () => {
    // The default authentication key takes one record.
    for (let i = 1; i < 256; i++) await generate(session, Algorithm.EC_P256, { id: i + 1 });
    expect(sim.device.objectCount()).toBe(256);
    expect(await deviceCode(generate(session, Algorithm.EC_P256))).toBe(DeviceErrorCode.STORAGE_FAILED);
    await session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 2, type: ObjectType.ASYMMETRIC_KEY }));
    await generate(session, Algorithm.EC_P256);
  }, 60_000);
});

describe('LIST_OBJECTS', () => {
  let p256: number;
  let ed: number;
  let k256: number;
  beforeEach(async () => {
    p256 = await generate(session, Algorithm.EC_P256, { label: label('alpha'), domains: 0x0001, capabilities: Capability.SIGN_ECDSA });
    ed = await generate(session, Algorithm.EC_ED25519, { label: label('beta'), domains: 0x0002, capabilities: Capability.SIGN_EDDSA });
    k256 = await generate(session, Algorithm.EC_K256, {
      label: label('alpha'),
      domains: 0x0006,
      capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
    });
  });

  const ids = (objects: ListObjects.ListedObject[]): number[] => objects.map((o) => o.id).sort((a, b) => a - b);
  const sorted = (...xs: number[]): number[] => xs.sort((a, b) => a - b);

  test('without filters: every object, in creation order, 4 bytes each', async () => {
    const raw = await session.send(Command.LIST_OBJECTS);
    expect(raw.length).toBe(16);
    expect(ListObjects.decodeResponse(raw).objects).toEqual([
      { id: 1, type: ObjectType.AUTHENTICATION_KEY, sequence: 0 },
      { id: p256, type: ObjectType.ASYMMETRIC_KEY, sequence: 0 },
      { id: ed, type: ObjectType.ASYMMETRIC_KEY, sequence: 0 },
      { id: k256, type: ObjectType.ASYMMETRIC_KEY, sequence: 0 },
    ]);
  });

  test('exact filters: id, type, algorithm, label', async () => {
    expect(ids(await list(session, { id: ed }))).toEqual([ed]);
    expect(ids(await list(session, { type: ObjectType.AUTHENTICATION_KEY }))).toEqual([1]);
    expect(ids(await list(session, { type: ObjectType.ASYMMETRIC_KEY }))).toEqual(sorted(p256, ed, k256));
    expect(ids(await list(session, { algorithm: Algorithm.EC_K256 }))).toEqual([k256]);
    expect(ids(await list(session, { label: label('alpha') }))).toEqual(sorted(p256, k256));
    expect(ids(await list(session, { label: label('alph') }))).toEqual([]);
  });

  test('domains and capabilities match on any shared bit', async () => {
    expect(ids(await list(session, { domains: 0x0002, type: ObjectType.ASYMMETRIC_KEY }))).toEqual(sorted(ed, k256));
    expect(ids(await list(session, { domains: 0x0005, type: ObjectType.ASYMMETRIC_KEY }))).toEqual(sorted(p256, k256));
    expect(ids(await list(session, { capabilities: Capability.EXPORTABLE_UNDER_WRAP | Capability.SIGN_EDDSA }))).toEqual(sorted(1, ed, k256));
  });

  test('filters combine; python-yubihsm order and reversed order agree', async () => {
    expect(ids(await list(session, { type: ObjectType.ASYMMETRIC_KEY, capabilities: Capability.SIGN_ECDSA, label: label('alpha'), domains: 0x4 }))).toEqual([
      k256,
    ]);
    // label filter first, then type: the device takes filters in any order.
    const reversed = new Uint8Array([0x06, ...label('alpha'), ...new Uint8Array(35), 0x02, ObjectType.ASYMMETRIC_KEY]);
    expect(ids(ListObjects.decodeResponse(await session.send(Command.LIST_OBJECTS, reversed)).objects)).toEqual(sorted(p256, k256));
  });

  test('an unknown or repeated filter tag is INVALID_DATA; a truncated filter is WRONG_LENGTH', async () => {
    expect(await deviceCode(session.send(Command.LIST_OBJECTS, Uint8Array.of(0x09, 0)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(session.send(Command.LIST_OBJECTS, Uint8Array.of(0x02, 3, 0x02, 3)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(session.send(Command.LIST_OBJECTS, Uint8Array.of(0x01, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });
});

describe('DELETE_OBJECT', () => {
  test('deletes; a second delete is OBJECT_NOT_FOUND', async () => {
    const id = await generate(session, Algorithm.EC_P256);
    await session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id, type: ObjectType.ASYMMETRIC_KEY }));
    expect(await deviceCode(publicKey(session, id))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(await deviceCode(session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id, type: ObjectType.ASYMMETRIC_KEY })))).toBe(
      DeviceErrorCode.OBJECT_NOT_FOUND,
    );
  });

  test('an unknown type is INVALID_DATA', async () => {
    expect(await deviceCode(session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 1, type: 0x55 })))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test("deleting the session's own auth key leaves the open session usable", async () => {
    await session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 1, type: ObjectType.AUTHENTICATION_KEY }));
    expect([...(await session.send(Command.ECHO, Uint8Array.of(1)))]).toEqual([1]);
    expect(await deviceCode(TestSession.open(sim.url))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });
});

describe('GET_PSEUDO_RANDOM', () => {
  test('returns the requested number of bytes, different each time', async () => {
    const get = async (length: number): Promise<Uint8Array> =>
      GetPseudoRandom.decodeResponse(await session.send(Command.GET_PSEUDO_RANDOM, GetPseudoRandom.encodeRequest({ length }))).bytes;
    expect((await get(0)).length).toBe(0);
    const a = await get(32);
    const b = await get(32);
    expect(a.length).toBe(32);
    expect(a).not.toEqual(b);
    expect((await get(3116)).length).toBe(3116);
  });

  test('more than one response can carry is WRONG_LENGTH', async () => {
    expect(await deviceCode(session.send(Command.GET_PSEUDO_RANDOM, GetPseudoRandom.encodeRequest({ length: 3117 })))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(session.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });
});

describe('PUT_AUTHENTICATION_KEY', () => {
  test('stores a key that then opens its own session, with its own capabilities', async () => {
    const { encKey, macKey } = authKeyFromPassword('second');
    const reply = await session.send(
      Command.PUT_AUTHENTICATION_KEY,
      PutAuthenticationKey.encodeRequest({
        id: 7,
        label: label('second'),
        domains: 0x0003,
        capabilities: Capability.GET_PSEUDO_RANDOM,
        algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
        delegatedCapabilities: Capability.SIGN_ECDSA,
        encKey,
        macKey,
      }),
    );
    expect(PutAuthenticationKey.decodeResponse(reply).id).toBe(7);
    expect(await info(session, 7, ObjectType.AUTHENTICATION_KEY)).toMatchObject({
      capabilities: Capability.GET_PSEUDO_RANDOM,
      delegatedCapabilities: Capability.SIGN_ECDSA,
      domains: 3,
      length: 40,
      origin: 0x02,
    });
    const second = await TestSession.open(sim.url, 7, 'second');
    expect((await second.send(Command.GET_PSEUDO_RANDOM, GetPseudoRandom.encodeRequest({ length: 4 }))).length).toBe(4);
    // With the wrong password the card cryptogram does not match, so the host gives up first.
    await expect(TestSession.open(sim.url, 7, 'password')).rejects.toThrow(/card cryptogram mismatch/);
  });

  test('only the two authentication-key algorithms are accepted, each with its own key length', async () => {
    const { encKey, macKey } = authKeyFromPassword('x');
    const req = { id: 0, label: label('x'), domains: 1, capabilities: 0n, delegatedCapabilities: 0n, encKey, macKey };
    expect(await deviceCode(session.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest({ ...req, algorithm: Algorithm.EC_P256 })))).toBe(
      DeviceErrorCode.INVALID_DATA,
    );
    // The asymmetric algorithm takes a 64-byte public key, not two 16-byte AES keys.
    expect(
      await deviceCode(
        session.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest({ ...req, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION })),
      ),
    ).toBe(DeviceErrorCode.WRONG_LENGTH);
  });

  test('a short key is WRONG_LENGTH', async () => {
    const { encKey, macKey } = authKeyFromPassword('x');
    const full = PutAuthenticationKey.encodeRequest({
      id: 0,
      label: label('x'),
      domains: 1,
      capabilities: 0n,
      algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
      delegatedCapabilities: 0n,
      encKey,
      macKey,
    });
    expect(await deviceCode(session.send(Command.PUT_AUTHENTICATION_KEY, full.subarray(0, full.length - 1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });
});

describe('RESET_DEVICE', () => {
  test('deletes every object, restores the default key and closes every session', async () => {
    await generate(session, Algorithm.EC_P256);
    await generate(session, Algorithm.EC_ED25519);
    const other = await TestSession.open(sim.url);
    expect(sim.device.objectCount()).toBe(3);
    await session.send(Command.RESET_DEVICE);
    expect(sim.device.objectCount()).toBe(1);
    expect(sim.device.sessionCount()).toBe(0);
    expect(await deviceCode(other.send(Command.ECHO, Uint8Array.of(1)))).toBe(DeviceErrorCode.INVALID_SESSION);
    const fresh = await TestSession.open(sim.url);
    expect(await list(fresh)).toEqual([{ id: 1, type: ObjectType.AUTHENTICATION_KEY, sequence: 0 }]);
  });

  test('restores a deleted or replaced default key', async () => {
    await session.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 1, type: ObjectType.AUTHENTICATION_KEY }));
    await session.send(Command.RESET_DEVICE);
    await TestSession.open(sim.url);
  });
});

test('unknown and unimplemented commands inside a session are INVALID_COMMAND', async () => {
  for (const code of [0x00, 0x02, Command.SIGN_SSH_CERTIFICATE, Command.PUT_TEMPLATE, Command.GET_TEMPLATE, 0x7f, 0xff]) {
    expect(await deviceCode(session.send(code, Uint8Array.of(0, 1)))).toBe(DeviceErrorCode.INVALID_COMMAND);
  }
  // Session setup commands are not commands inside a session.
  for (const code of [Command.CREATE_SESSION, Command.AUTHENTICATE_SESSION, Command.SESSION_MESSAGE]) {
    expect(await deviceCode(session.send(code, new Uint8Array(10)))).toBe(DeviceErrorCode.INVALID_COMMAND);
  }
  expect([...(await session.raw(frame(Command.ECHO, Uint8Array.of(1))))]).toEqual([0x81, 0, 1, 1]);
});
