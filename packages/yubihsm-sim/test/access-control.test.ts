// Capabilities and domains (Yubico Capability and Domain concept pages): effective capabilities
// are the auth key's intersected with the object's; creation is bounded by delegated capabilities
// and the auth key's domains; an object outside the session's domains is invisible.
import {
  Algorithm,
  Capability,
  Command,
  DeleteObject,
  DeviceErrorCode,
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
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, TestSession } from './helpers/client';

let sim: RunningSimulator;
let admin: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const hash = new Uint8Array(32).fill(1);

async function putAuthKey(id: number, password: string, fields: { domains: number; capabilities: bigint; delegatedCapabilities: bigint }): Promise<void> {
  const { encKey, macKey } = authKeyFromPassword(password);
  await admin.send(
    Command.PUT_AUTHENTICATION_KEY,
    PutAuthenticationKey.encodeRequest({ id, label: label(password), algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, encKey, macKey, ...fields }),
  );
}

function generateRequest(fields: Partial<GenerateAsymmetricKey.Request>): Uint8Array {
  return GenerateAsymmetricKey.encodeRequest({
    id: 0,
    label: label('k'),
    domains: 1,
    capabilities: Capability.SIGN_ECDSA,
    algorithm: Algorithm.EC_P256,
    ...fields,
  });
}

async function generate(s: TestSession, fields: Partial<GenerateAsymmetricKey.Request>): Promise<number> {
  return GenerateAsymmetricKey.decodeResponse(await s.send(Command.GENERATE_ASYMMETRIC_KEY, generateRequest(fields))).id;
}

const sign = (s: TestSession, keyId: number): Promise<Uint8Array> => s.send(Command.SIGN_ECDSA, SignEcdsa.encodeRequest({ keyId, digest: hash }));

describe('effective capabilities = auth key ∩ object', () => {
  test('an auth key without sign-ecdsa cannot sign with a key that has it', async () => {
    const key = await generate(admin, { capabilities: Capability.SIGN_ECDSA });
    await putAuthKey(10, 'nosign', { domains: 1, capabilities: Capability.GET_PSEUDO_RANDOM, delegatedCapabilities: 0n });
    const user = await TestSession.open(sim.url, 10, 'nosign');
    expect(await deviceCode(sign(user, key))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('an auth key with sign-ecdsa cannot sign with a key that lacks it', async () => {
    const key = await generate(admin, { capabilities: Capability.EXPORTABLE_UNDER_WRAP });
    expect(await deviceCode(sign(admin, key))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('both holding the capability signs', async () => {
    const key = await generate(admin, { capabilities: Capability.SIGN_ECDSA });
    await putAuthKey(11, 'signer', { domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: 0n });
    const user = await TestSession.open(sim.url, 11, 'signer');
    expect((await sign(user, key))[0]).toBe(0x30);
  });

  test('sign-eddsa is checked the same way', async () => {
    const key = await generate(admin, { algorithm: Algorithm.EC_ED25519, capabilities: Capability.SIGN_ECDSA });
    const send = (s: TestSession): Promise<Uint8Array> => s.send(Command.SIGN_EDDSA, SignEddsa.encodeRequest({ keyId: key, message: label('m') }));
    expect(await deviceCode(send(admin))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await putAuthKey(12, 'ed', { domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: 0n });
    expect(await deviceCode(send(await TestSession.open(sim.url, 12, 'ed')))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });
});

describe('creating objects', () => {
  test('GENERATE_ASYMMETRIC_KEY needs generate-asymmetric-key on the auth key', async () => {
    await putAuthKey(20, 'nogen', { domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: Capability.SIGN_ECDSA });
    const user = await TestSession.open(sim.url, 20, 'nogen');
    expect(await deviceCode(generate(user, {}))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test("new capabilities must be within the delegated set, new domains within the auth key's", async () => {
    await putAuthKey(21, 'gen', { domains: 0x0003, capabilities: Capability.GENERATE_ASYMMETRIC_KEY, delegatedCapabilities: Capability.SIGN_ECDSA });
    const user = await TestSession.open(sim.url, 21, 'gen');
    expect(await generate(user, { domains: 0x0002, capabilities: Capability.SIGN_ECDSA })).toBeGreaterThan(0);
    expect(await deviceCode(generate(user, { capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP }))).toBe(
      DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
    );
    expect(await deviceCode(generate(user, { domains: 0x0004 }))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(generate(user, { domains: 0x0007 }))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('PUT_AUTHENTICATION_KEY needs put-authentication-key; capabilities and delegated capabilities must be delegable', async () => {
    await putAuthKey(22, 'noput', { domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: Capability.SIGN_ECDSA });
    const noput = await TestSession.open(sim.url, 22, 'noput');
    const { encKey, macKey } = authKeyFromPassword('new');
    const put = (s: TestSession, fields: { domains?: number; capabilities?: bigint; delegatedCapabilities?: bigint }): Promise<Uint8Array> =>
      s.send(
        Command.PUT_AUTHENTICATION_KEY,
        PutAuthenticationKey.encodeRequest({
          id: 0,
          label: label('new'),
          algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
          domains: 1,
          capabilities: 0n,
          delegatedCapabilities: 0n,
          encKey,
          macKey,
          ...fields,
        }),
      );
    expect(await deviceCode(put(noput, {}))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);

    await putAuthKey(23, 'put', { domains: 1, capabilities: Capability.PUT_AUTHENTICATION_KEY, delegatedCapabilities: Capability.SIGN_ECDSA });
    const putter = await TestSession.open(sim.url, 23, 'put');
    await put(putter, { capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: Capability.SIGN_ECDSA });
    expect(await deviceCode(put(putter, { capabilities: Capability.PUT_AUTHENTICATION_KEY }))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(put(putter, { delegatedCapabilities: Capability.SIGN_EDDSA }))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(put(putter, { domains: 2 }))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });
});

describe('other capabilities', () => {
  let user: TestSession;
  let key: number;
  beforeEach(async () => {
    key = await generate(admin, { capabilities: Capability.SIGN_ECDSA });
    await putAuthKey(30, 'plain', { domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: 0n });
    user = await TestSession.open(sim.url, 30, 'plain');
  });

  test('DELETE_OBJECT needs delete-<type>', async () => {
    expect(await deviceCode(user.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: key, type: ObjectType.ASYMMETRIC_KEY })))).toBe(
      DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
    );
    await putAuthKey(31, 'deleter', { domains: 1, capabilities: Capability.DELETE_ASYMMETRIC_KEY, delegatedCapabilities: 0n });
    const deleter = await TestSession.open(sim.url, 31, 'deleter');
    expect(await deviceCode(deleter.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 30, type: ObjectType.AUTHENTICATION_KEY })))).toBe(
      DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
    );
    await deleter.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: key, type: ObjectType.ASYMMETRIC_KEY }));
  });

  test('GET_PSEUDO_RANDOM needs get-pseudo-random', async () => {
    expect(await deviceCode(user.send(Command.GET_PSEUDO_RANDOM, GetPseudoRandom.encodeRequest({ length: 8 })))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('RESET_DEVICE needs reset-device and changes nothing without it', async () => {
    expect(await deviceCode(user.send(Command.RESET_DEVICE))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(sim.device.objectCount()).toBe(3);
  });

  test('GET_PUBLIC_KEY, GET_OBJECT_INFO and LIST_OBJECTS need no capability', async () => {
    await user.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: key }));
    await user.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: key, type: ObjectType.ASYMMETRIC_KEY }));
    expect(ListObjects.decodeResponse(await user.send(Command.LIST_OBJECTS)).objects.length).toBe(3);
  });
});

describe('domains', () => {
  let inTwo: number;
  let user: TestSession;
  beforeEach(async () => {
    inTwo = await generate(admin, { domains: 0x0002, capabilities: Capability.SIGN_ECDSA });
    await putAuthKey(40, 'd1', { domains: 0x0001, capabilities: Capability.SIGN_ECDSA | Capability.DELETE_ASYMMETRIC_KEY, delegatedCapabilities: 0n });
    user = await TestSession.open(sim.url, 40, 'd1');
  });

  test('an object in no shared domain is OBJECT_NOT_FOUND to every command', async () => {
    expect(await deviceCode(sign(user, inTwo))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(await deviceCode(user.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: inTwo })))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    expect(await deviceCode(user.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: inTwo, type: ObjectType.ASYMMETRIC_KEY })))).toBe(
      DeviceErrorCode.OBJECT_NOT_FOUND,
    );
    expect(await deviceCode(user.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: inTwo, type: ObjectType.ASYMMETRIC_KEY })))).toBe(
      DeviceErrorCode.OBJECT_NOT_FOUND,
    );
  });

  test('LIST_OBJECTS leaves it out, even when asked for by id', async () => {
    const listed = ListObjects.decodeResponse(await user.send(Command.LIST_OBJECTS)).objects.map((o) => o.id);
    expect(listed).not.toContain(inTwo);
    expect(listed).toContain(40);
    expect(ListObjects.decodeResponse(await user.send(Command.LIST_OBJECTS, ListObjects.encodeRequest({ id: inTwo }))).objects).toEqual([]);
  });

  test('one shared domain is enough', async () => {
    const inOneAndTwo = await generate(admin, { domains: 0x0003, capabilities: Capability.SIGN_ECDSA });
    expect((await sign(user, inOneAndTwo))[0]).toBe(0x30);
  });
});
