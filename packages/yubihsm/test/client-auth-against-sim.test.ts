/**
 * The client's authentication-key and storage methods over real sockets against yubihsm-sim:
 * CHANGE_AUTHENTICATION_KEY (the client goes on with the new key), asymmetric authentication
 * keys, the device public key and GET_STORAGE_INFO.
 */
import { createECDH } from 'node:crypto';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceError, DeviceErrorCode, ObjectType, ProtocolError, YubiHsmClient } from '../src';

let sim: RunningSimulator;
let admin: YubiHsmClient;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
});

afterEach(async () => {
  await admin.close();
  await sim.close();
});

it('changes its own password and keeps working with fresh sessions', async () => {
  const id = await admin.putAuthenticationKey({
    id: 0x50,
    label: 'operator',
    domains: 1,
    capabilities: Capability.CHANGE_AUTHENTICATION_KEY | Capability.GET_PSEUDO_RANDOM,
    delegatedCapabilities: 0n,
    password: 'first',
  });
  const operator = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: id, password: 'first' });
  try {
    await operator.changeAuthenticationKey({ password: 'second' });
    await operator.closeSession();
    expect(await operator.getPseudoRandom(4)).toHaveLength(4);
    expect(operator.stats().sessionsOpened).toBe(2);
  } finally {
    await operator.close();
  }
  const stale = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: id, password: 'first' });
  await expect(stale.getPseudoRandom(1)).rejects.toBeInstanceOf(ProtocolError);
  await stale.close();
});

it('a key without the capability is refused and keeps its password', async () => {
  const id = await admin.putAuthenticationKey({
    id: 0,
    label: 'plain',
    domains: 1,
    capabilities: Capability.GET_PSEUDO_RANDOM,
    delegatedCapabilities: 0n,
    password: 'p',
  });
  const plain = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: id, password: 'p' });
  try {
    const error = await plain.changeAuthenticationKey({ password: 'q' }).catch((e: unknown) => e);
    expect((error as DeviceError).code).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    await plain.closeSession();
    expect(await plain.getPseudoRandom(1)).toHaveLength(1);
  } finally {
    await plain.close();
  }
});

it('stores an asymmetric authentication key from a P-256 public key, with or without the 04 prefix', async () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const point = new Uint8Array(ecdh.getPublicKey());
  const a = await admin.putAuthenticationKey({ id: 0, label: 'asym', domains: 1, capabilities: 0n, delegatedCapabilities: 0n, publicKey: point });
  const b = await admin.putAuthenticationKey({ id: 0, label: 'asym', domains: 1, capabilities: 0n, delegatedCapabilities: 0n, publicKey: point.subarray(1) });
  for (const id of [a, b]) expect((await admin.getObjectInfo(id, ObjectType.AUTHENTICATION_KEY)).algorithm).toBe(Algorithm.EC_P256_YUBICO_AUTHENTICATION);
  await expect(
    admin.putAuthenticationKey({ id: 0, label: 'x', domains: 1, capabilities: 0n, delegatedCapabilities: 0n, publicKey: point, password: 'x' }),
  ).rejects.toThrow(TypeError);
  await expect(
    admin.putAuthenticationKey({ id: 0, label: 'x', domains: 1, capabilities: 0n, delegatedCapabilities: 0n, publicKey: point.subarray(2) }),
  ).rejects.toThrow(RangeError);
});

it('reads the device public key in the clear and the storage use in a session', async () => {
  const key = await admin.getDevicePublicKey();
  expect(key).toHaveLength(64);
  expect(admin.stats().sessionsOpened).toBe(0);
  expect(await admin.getStorageInfo()).toEqual({ totalRecords: 256, freeRecords: 255, totalPages: 1024, freePages: 1023, pageSize: 126 });
});
