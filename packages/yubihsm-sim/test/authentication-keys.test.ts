// Authentication keys beyond the factory one: CHANGE_AUTHENTICATION_KEY, asymmetric (P-256)
// authentication keys with asymmetric session creation and the device public key (firmware 2.3+),
// and GET_STORAGE_INFO. Key agreement is re-derived here with node:crypto (ECDH, SHA-256 X9.63).
import { createECDH, createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aesCmac,
  Algorithm,
  AuditMode,
  authKeyFromPassword,
  Capability,
  ChangeAuthenticationKey,
  Command,
  CreateSession,
  DeviceErrorCode,
  GenerateAsymmetricKey,
  GetDevicePublicKey,
  GetLogEntries,
  GetObjectInfo,
  GetStorageInfo,
  ObjectType,
  OptionTag,
  PutAuthenticationKey,
  SetOption,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, errorCodeOf, plain, post, TestSession } from './helpers/client';

let sim: RunningSimulator;
let admin: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A P-256 key pair from node:crypto: 32-byte scalar and `X || Y`. */
function hostKey(): { privateKey: Uint8Array; xy: Uint8Array } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes; the device protocol's scalars are 32 bytes.
  const privateKey = new Uint8Array(32);
  const scalar = ecdh.getPrivateKey();
  privateKey.set(scalar, 32 - scalar.length);
  return { privateKey, xy: new Uint8Array(ecdh.getPublicKey()).subarray(1) };
}

async function putSymmetric(id: number, password: string, capabilities: bigint, domains = 1): Promise<void> {
  const { encKey, macKey } = authKeyFromPassword(password);
  const req = {
    id,
    label: label(password),
    domains,
    capabilities,
    delegatedCapabilities: 0n,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    encKey,
    macKey,
  };
  await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(req));
}

function putAsymmetricRequest(id: number, publicKey: Uint8Array, capabilities = 0n): Uint8Array {
  const req = { id, label: label('asym'), domains: 1, capabilities, delegatedCapabilities: 0n, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey };
  return PutAuthenticationKey.encodeRequest(req);
}

async function devicePublicKey(): Promise<Uint8Array> {
  const res = GetDevicePublicKey.decodeResponse(await plain(sim.url, Command.GET_DEVICE_PUBLIC_KEY));
  expect(res.algorithm).toBe(Algorithm.EC_P256_YUBICO_AUTHENTICATION);
  return res.publicKey;
}

const changeRequest = (id: number, password: string): Uint8Array =>
  ChangeAuthenticationKey.encodeRequest({ id, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, ...authKeyFromPassword(password) });

describe('GET_DEVICE_PUBLIC_KEY', () => {
  test('answers in the clear and in a session with a P-256 point that survives a factory reset', async () => {
    const xy = await devicePublicKey();
    const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') };
    expect(createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(GetDevicePublicKey.decodeResponse(await admin.send(Command.GET_DEVICE_PUBLIC_KEY)).publicKey).toEqual(xy);
    await admin.send(Command.RESET_DEVICE);
    expect(await devicePublicKey()).toEqual(xy);
    expect(await deviceCode(plain(sim.url, Command.GET_DEVICE_PUBLIC_KEY, Uint8Array.of(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });

  test('is kept in the state file, and differs between devices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-devkey-'));
    try {
      const statePath = join(dir, 'state.json');
      const first = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
      const a = GetDevicePublicKey.decodeResponse(await plain(first.url, Command.GET_DEVICE_PUBLIC_KEY)).publicKey;
      await first.close();
      const again = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
      const b = GetDevicePublicKey.decodeResponse(await plain(again.url, Command.GET_DEVICE_PUBLIC_KEY)).publicKey;
      await again.close();
      expect(b).toEqual(a);
      expect(await devicePublicKey()).not.toEqual(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('asymmetric authentication keys', () => {
  test('a session opened with the private key works, and its keys match a derivation done here', async () => {
    const host = hostKey();
    await admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x30, host.xy, Capability.GET_PSEUDO_RANDOM));
    const info = GetObjectInfo.decodeResponse(
      await admin.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: 0x30, type: ObjectType.AUTHENTICATION_KEY })),
    );
    expect(info.algorithm).toBe(Algorithm.EC_P256_YUBICO_AUTHENTICATION);

    // python-yubihsm AsymmetricAuth, step by step, with node:crypto.
    const ephemeral = createECDH('prime256v1');
    ephemeral.generateKeys();
    const epkHost = new Uint8Array(ephemeral.getPublicKey());
    const res = CreateSession.decodeAsymmetricResponse(
      await plain(sim.url, Command.CREATE_SESSION, CreateSession.encodeAsymmetricRequest({ authKeyId: 0x30, hostEphemeralKey: epkHost })),
    );
    const shsee = ephemeral.computeSecret(res.cardEphemeralKey);
    const staticKey = createECDH('prime256v1');
    staticKey.setPrivateKey(host.privateKey);
    const shsss = staticKey.computeSecret(Uint8Array.of(4, ...(await devicePublicKey())));
    const z = Buffer.concat([shsee, shsss]);
    const material = Buffer.concat(
      [1, 2].map((c) =>
        createHash('sha256')
          .update(z)
          .update(Uint8Array.of(0, 0, 0, c))
          .update(Uint8Array.of(0x3c, 0x88, 0x10))
          .digest(),
      ),
    );
    const receipt = aesCmac(new Uint8Array(material.subarray(0, 16)), Uint8Array.of(...res.cardEphemeralKey, ...epkHost));
    expect(Buffer.from(res.receipt).toString('hex')).toBe(Buffer.from(receipt).toString('hex'));

    const session = await TestSession.openAsymmetric(sim.url, 0x30, host.privateKey);
    expect([...(await session.send(Command.ECHO, Uint8Array.of(1, 2, 3)))]).toEqual([1, 2, 3]);
    expect(await session.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 8))).toHaveLength(8);
    // The session carries the key's own capabilities, no more.
    expect(await deviceCode(session.send(Command.GET_LOG_ENTRIES))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await session.close();
  });

  test('a host with the wrong private key, or holding a wrong device key, cannot use the session', async () => {
    const host = hostKey();
    await admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x31, host.xy));
    await expect(TestSession.openAsymmetric(sim.url, 0x31, hostKey().privateKey)).rejects.toThrow(/receipt mismatch/);
    const impostor = createECDH('prime256v1');
    impostor.generateKeys();
    await expect(TestSession.openAsymmetric(sim.url, 0x31, host.privateKey, new Uint8Array(impostor.getPublicKey()))).rejects.toThrow(/receipt mismatch/);
  });

  test('points off the curve, wrong key kinds, unknown keys and wrong lengths are refused and create nothing', async () => {
    const before = sim.device.objectCount();
    const offCurve = new Uint8Array(64).fill(1);
    expect(await deviceCode(admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x32, offCurve)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x32, hostKey().xy).subarray(0, 100)))).toBe(
      DeviceErrorCode.WRONG_LENGTH,
    );
    const badAlgorithm = PutAuthenticationKey.encodeRequest({
      id: 0x32,
      label: label('x'),
      domains: 1,
      capabilities: 0n,
      delegatedCapabilities: 0n,
      algorithm: Algorithm.EC_P256,
      ...authKeyFromPassword('x'),
    });
    expect(await deviceCode(admin.send(Command.PUT_AUTHENTICATION_KEY, badAlgorithm))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(sim.device.objectCount()).toBe(before);

    const host = hostKey();
    await admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x33, host.xy));
    const goodPoint = Uint8Array.of(4, ...hostKey().xy);
    const asym = (authKeyId: number, point: Uint8Array): Promise<Uint8Array> =>
      plain(sim.url, Command.CREATE_SESSION, CreateSession.encodeAsymmetricRequest({ authKeyId, hostEphemeralKey: point }));
    // The default key is symmetric; key 0x33 is asymmetric: each opens only its own kind of session.
    expect(await deviceCode(asym(1, goodPoint))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(plain(sim.url, Command.CREATE_SESSION, CreateSession.encodeRequest({ authKeyId: 0x33, hostChallenge: new Uint8Array(8) })))).toBe(
      DeviceErrorCode.INVALID_DATA,
    );
    expect(await deviceCode(asym(0x33, Uint8Array.of(4, ...offCurve)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(asym(0x33, Uint8Array.of(2, ...goodPoint.subarray(1))))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(asym(0x99, goodPoint))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(errorCodeOf(await post(sim.url, Uint8Array.of(Command.CREATE_SESSION, 0, 66, ...new Uint8Array(66))))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(sim.device.sessionCount()).toBe(1);
  });

  test('an audited asymmetric CREATE_SESSION is logged with its 67-byte length and the key as target', async () => {
    const host = hostKey();
    await admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x34, host.xy));
    await admin.send(
      Command.SET_OPTION,
      SetOption.encodeRequest({ tag: OptionTag.COMMAND_AUDIT, value: SetOption.encodePairs(new Map([[Command.CREATE_SESSION, AuditMode.ON]])) }),
    );
    await TestSession.openAsymmetric(sim.url, 0x34, host.privateKey);
    const { entries } = GetLogEntries.decodeResponse(await admin.send(Command.GET_LOG_ENTRIES));
    expect(entries[entries.length - 1]).toMatchObject({ command: Command.CREATE_SESSION, length: 67, sessionKey: 0xffff, targetKey: 0x34, result: 0x83 });
  });
});

describe('CHANGE_AUTHENTICATION_KEY', () => {
  test("changes the keys of the session's own key; the open session goes on, new sessions need the new password", async () => {
    await putSymmetric(0x40, 'first', Capability.CHANGE_AUTHENTICATION_KEY);
    const before = GetObjectInfo.decodeResponse(
      await admin.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: 0x40, type: ObjectType.AUTHENTICATION_KEY })),
    );
    const own = await TestSession.open(sim.url, 0x40, 'first');
    expect([...(await own.send(Command.CHANGE_AUTHENTICATION_KEY, changeRequest(0x40, 'second')))]).toEqual([0, 0x40]);
    expect([...(await own.send(Command.ECHO, Uint8Array.of(7)))]).toEqual([7]);
    await own.close();
    await expect(TestSession.open(sim.url, 0x40, 'first')).rejects.toThrow(/cryptogram/);
    await (await TestSession.open(sim.url, 0x40, 'second')).close();
    const after = GetObjectInfo.decodeResponse(
      await admin.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: 0x40, type: ObjectType.AUTHENTICATION_KEY })),
    );
    expect(after).toEqual(before);
  });

  test("another key's id is INVALID_ID, even for the all-powerful factory key", async () => {
    await putSymmetric(0x41, 'other', Capability.CHANGE_AUTHENTICATION_KEY);
    expect(await deviceCode(admin.send(Command.CHANGE_AUTHENTICATION_KEY, changeRequest(0x41, 'hijack')))).toBe(DeviceErrorCode.INVALID_ID);
    await (await TestSession.open(sim.url, 0x41, 'other')).close();
  });

  test('without the capability, with the other algorithm, or truncated, nothing changes', async () => {
    await putSymmetric(0x42, 'stuck', Capability.GET_PSEUDO_RANDOM);
    const stuck = await TestSession.open(sim.url, 0x42, 'stuck');
    expect(await deviceCode(stuck.send(Command.CHANGE_AUTHENTICATION_KEY, changeRequest(0x42, 'new')))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const toAsym = ChangeAuthenticationKey.encodeRequest({ id: 1, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey: hostKey().xy });
    expect(await deviceCode(admin.send(Command.CHANGE_AUTHENTICATION_KEY, toAsym))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(admin.send(Command.CHANGE_AUTHENTICATION_KEY, changeRequest(1, 'x').subarray(0, 34)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.CHANGE_AUTHENTICATION_KEY, Uint8Array.of(...changeRequest(1, 'x'), 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    await (await TestSession.open(sim.url, 0x42, 'stuck')).close();
    await (await TestSession.open(sim.url, 1, 'password')).close();
  });

  test('an asymmetric key changes to a new public key', async () => {
    const first = hostKey();
    const second = hostKey();
    await admin.send(Command.PUT_AUTHENTICATION_KEY, putAsymmetricRequest(0x43, first.xy, Capability.CHANGE_AUTHENTICATION_KEY));
    const session = await TestSession.openAsymmetric(sim.url, 0x43, first.privateKey);
    const offCurve = ChangeAuthenticationKey.encodeRequest({
      id: 0x43,
      algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION,
      publicKey: new Uint8Array(64).fill(3),
    });
    expect(await deviceCode(session.send(Command.CHANGE_AUTHENTICATION_KEY, offCurve))).toBe(DeviceErrorCode.INVALID_DATA);
    await session.send(
      Command.CHANGE_AUTHENTICATION_KEY,
      ChangeAuthenticationKey.encodeRequest({ id: 0x43, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey: second.xy }),
    );
    await expect(TestSession.openAsymmetric(sim.url, 0x43, first.privateKey)).rejects.toThrow(/receipt mismatch/);
    await (await TestSession.openAsymmetric(sim.url, 0x43, second.privateKey)).close();
  });
});

describe('GET_STORAGE_INFO', () => {
  const usage = async (): Promise<GetStorageInfo.Response> => GetStorageInfo.decodeResponse(await admin.send(Command.GET_STORAGE_INFO));

  test('a reset device has 255/256 records and 1023/1024 pages of 126 bytes free (the command page example)', async () => {
    expect(await usage()).toEqual({ totalRecords: 256, freeRecords: 255, totalPages: 1024, freePages: 1023, pageSize: 126 });
  });

  test('an object takes one record and as many pages as its stored length needs', async () => {
    const generate = (algorithm: number): Promise<Uint8Array> =>
      admin.send(Command.GENERATE_ASYMMETRIC_KEY, GenerateAsymmetricKey.encodeRequest({ id: 0, label: label('s'), domains: 1, capabilities: 0n, algorithm }));
    await generate(Algorithm.EC_P256); // 96 bytes: 1 page
    await generate(Algorithm.RSA_2048); // 896 bytes: 8 pages
    expect(await usage()).toMatchObject({ freeRecords: 253, freePages: 1023 - 1 - 8 });
    expect(await deviceCode(admin.send(Command.GET_STORAGE_INFO, Uint8Array.of(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  });
});
