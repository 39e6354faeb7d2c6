/**
 * The YubiHSM 2 contract: what the backend needs from a device, checked through YubiHsmBackend and
 * node:crypto only. Runs against the simulator, or against a real device in the hardware lane
 * (KMSGATE_HARDWARE_TESTS=1, helpers/hardware-lane.ts). On a real device it creates keys in the
 * lane's domain and deletes every one of them again; it never resets the device.
 */
import { constants, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import {
  KmsError,
  KEY_SPECS,
  SEALED_PAYLOAD_LENGTH,
  SIGNING_ALGORITHMS,
  type AsymmetricKeySpec,
  type SupportedKeySpec,
  type SupportedSigningAlgorithm,
} from '@kmsgate/core';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Capability, MAX_HMAC_DATA, ObjectType, YubiHsmBackend } from '../src';
import { announceSkippedLane, hardwareLane } from './helpers/hardware-lane';

const lane = hardwareLane();
const target = lane ? `a real YubiHSM 2 at ${lane.connectorUrl}` : 'the YubiHSM 2 simulator';
if (!lane) announceSkippedLane('YubiHSM 2 contract');

let sim: RunningSimulator | undefined;
let backend: YubiHsmBackend;
/** Every key made here, deleted in afterAll whatever happened. */
const made: { handle: string; spec: SupportedKeySpec; publicKey: Uint8Array }[] = [];

beforeAll(async () => {
  if (!lane) sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  backend = new YubiHsmBackend({
    id: 'contract',
    connectorUrl: lane?.connectorUrl ?? sim!.url,
    authKeyId: lane?.authKeyId ?? 1,
    password: lane?.password ?? 'password',
    domains: 1 << ((lane?.domain ?? 1) - 1),
    serial: lane?.serial,
    // RSA-4096 generation on hardware can take minutes; signatures take up to a second.
    requestTimeoutMs: 30_000,
  });
});

afterAll(async () => {
  for (const k of made) await backend.deleteKey(k.handle, k.spec, k.publicKey).catch(() => undefined);
  await backend.close();
  await sim?.close();
});

function verifies(spki: Uint8Array, algorithm: SupportedSigningAlgorithm, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const info = SIGNING_ALGORITHMS[algorithm];
  if (info.family === 'eddsa') return cryptoVerify(null, message, key, signature);
  if (info.family === 'ecdsa') return cryptoVerify(info.hash, message, { key, dsaEncoding: 'der' }, signature);
  if (info.family === 'rsa-pss')
    return cryptoVerify(info.hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.digestLength }, signature);
  return cryptoVerify(info.hash, message, key, signature);
}

describe(`YubiHSM 2 contract against ${target}`, () => {
  it('is connected, authenticated, and reports its serial', async () => {
    const d = await backend.describe();
    expect(d).toMatchObject({ connectionState: 'CONNECTED', detail: { authenticated: true } });
    if (lane?.serial !== undefined) expect(d.detail!.serial).toBe(lane.serial);
  });

  const specs: AsymmetricKeySpec[] = ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'RSA_2048'];
  for (const spec of specs) {
    it(`generates a ${spec} key that can only sign (and be backed up if allowed), signs with every algorithm the backend offers, and deletes it`, async () => {
      const key = await backend.generateKey(spec, `kmsgate-contract-${spec}`);
      made.push({ ...key, spec });
      expect(await backend.getPublicKey(key.handle, spec)).toEqual(key.publicKey);
      const [serial, id] = key.handle.split(':').map(Number) as [number, number];
      const info = await backend.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY, serial);
      // Only its signing capabilities, plus exportable-under-wrap exactly when the authentication
      // key may delegate it (backups under `kmsgate hsm setup`'s key admin).
      const own = await backend.client.getObjectInfo(backend.client.authKeyId, ObjectType.AUTHENTICATION_KEY);
      const sign = { ec: Capability.SIGN_ECDSA, ed25519: Capability.SIGN_EDDSA, rsa: Capability.SIGN_PKCS | Capability.SIGN_PSS }[KEY_SPECS[spec].kind];
      expect(info.capabilities).toBe(sign | (own.delegatedCapabilities & Capability.EXPORTABLE_UNDER_WRAP));
      expect(info.domains).toBe(backend.domains);

      const message = new TextEncoder().encode(`kmsgate contract ${spec}`);
      const algorithms = (KEY_SPECS[spec].signingAlgorithms as readonly SupportedSigningAlgorithm[]).filter((a) => backend.signingAlgorithms.includes(a));
      expect(algorithms.length).toBeGreaterThan(0);
      for (const algorithm of algorithms) {
        const { family, hash } = SIGNING_ALGORITHMS[algorithm];
        const input = family === 'eddsa' ? message : new Uint8Array(createHash(hash).update(message).digest());
        const signature = await backend.sign(key.handle, spec, algorithm, input, key.publicKey);
        expect(verifies(key.publicKey, algorithm, message, signature)).toBe(true);
      }

      await backend.deleteKey(key.handle, spec, key.publicKey);
      // Gone is gone: deleting again succeeds, signing finds no key.
      await backend.deleteKey(key.handle, spec, key.publicKey);
      const err = await backend
        .sign(
          key.handle,
          spec,
          algorithms[0]!,
          new Uint8Array(SIGNING_ALGORITHMS[algorithms[0]!].family === 'eddsa' ? 1 : SIGNING_ALGORITHMS[algorithms[0]!].digestLength),
          key.publicKey,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(KmsError);
      expect(err).toMatchObject({ type: 'KeyUnavailableException' });
    }, 300_000);
  }

  it('generates a SYMMETRIC_DEFAULT wrap key that can only wrap and unwrap data, seals and unseals, and deletes it', async () => {
    const key = await backend.generateKey('SYMMETRIC_DEFAULT', 'kmsgate-contract-SYMMETRIC_DEFAULT');
    made.push({ ...key, spec: 'SYMMETRIC_DEFAULT' });
    expect(key.publicKey).toHaveLength(0);
    const [serial, id] = key.handle.split(':').map(Number) as [number, number];
    const info = await backend.client.getObjectInfo(id, ObjectType.WRAP_KEY, serial);
    const own = await backend.client.getObjectInfo(backend.client.authKeyId, ObjectType.AUTHENTICATION_KEY);
    expect(info.capabilities).toBe(Capability.WRAP_DATA | Capability.UNWRAP_DATA | (own.delegatedCapabilities & Capability.EXPORTABLE_UNDER_WRAP));
    expect(info.delegatedCapabilities).toBe(0n);
    expect(info.domains).toBe(backend.domains);

    const payload = new Uint8Array(createHash('sha512').update('contract').digest());
    expect(payload).toHaveLength(SEALED_PAYLOAD_LENGTH);
    const sealed = await backend.seal(key.handle, payload);
    expect(sealed).toHaveLength(SEALED_PAYLOAD_LENGTH + 30);
    expect(Buffer.from(sealed).includes(Buffer.from(payload.subarray(0, 16)))).toBe(false);
    expect(await backend.unseal(key.handle, sealed)).toEqual(payload);
    // Any altered byte (nonce, body, tag) and any other length is InvalidCiphertextException.
    for (const at of [0, 20, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at]! ^= 1;
      await expect(backend.unseal(key.handle, bad)).rejects.toMatchObject({ type: 'InvalidCiphertextException', message: '' });
    }
    await expect(backend.unseal(key.handle, sealed.subarray(1))).rejects.toMatchObject({ type: 'InvalidCiphertextException' });
    await expect(backend.getPublicKey(key.handle, 'SYMMETRIC_DEFAULT')).rejects.toMatchObject({ type: 'UnsupportedOperationException' });

    await backend.deleteKey(key.handle, 'SYMMETRIC_DEFAULT', key.publicKey);
    await backend.deleteKey(key.handle, 'SYMMETRIC_DEFAULT', key.publicKey);
    await expect(backend.unseal(key.handle, sealed)).rejects.toMatchObject({ type: 'KeyUnavailableException' });
  });

  for (const [spec, length] of [
    ['HMAC_256', 32],
    ['HMAC_384', 48],
    ['HMAC_512', 64],
  ] as const) {
    it(`generates a ${spec} key that can only make and check MACs, and deletes it`, async () => {
      const key = await backend.generateKey(spec, `kmsgate-contract-${spec}`);
      made.push({ ...key, spec });
      expect(key.publicKey).toHaveLength(0);
      const [serial, id] = key.handle.split(':').map(Number) as [number, number];
      const info = await backend.client.getObjectInfo(id, ObjectType.HMAC_KEY, serial);
      const own = await backend.client.getObjectInfo(backend.client.authKeyId, ObjectType.AUTHENTICATION_KEY);
      expect(info.capabilities).toBe(Capability.SIGN_HMAC | Capability.VERIFY_HMAC | (own.delegatedCapabilities & Capability.EXPORTABLE_UNDER_WRAP));
      const message = new TextEncoder().encode(`kmsgate contract ${spec}`);
      const mac = await backend.generateMac(key.handle, spec, message);
      expect(mac).toHaveLength(length);
      expect(await backend.generateMac(key.handle, spec, message)).toEqual(mac);
      expect(await backend.verifyMac(key.handle, spec, message, mac)).toBe(true);
      const bad = mac.slice();
      bad[0]! ^= 1;
      expect(await backend.verifyMac(key.handle, spec, message, bad)).toBe(false);
      expect(await backend.verifyMac(key.handle, spec, message.subarray(1), mac)).toBe(false);
      expect(await backend.verifyMac(key.handle, spec, message, mac.subarray(1))).toBe(false);
      await expect(backend.generateMac(key.handle, spec, new Uint8Array(MAX_HMAC_DATA + 1))).rejects.toMatchObject({ type: 'UnsupportedOperationException' });
      await backend.deleteKey(key.handle, spec, key.publicKey);
      await expect(backend.generateMac(key.handle, spec, message)).rejects.toMatchObject({ type: 'KeyUnavailableException' });
    });
  }

  it('refuses a handle from another device without sending it a command', async () => {
    const serial = Number((await backend.describe()).detail!.serial);
    const other = serial === 1 ? 2 : serial - 1;
    const err = await backend.sign(`${other}:1`, 'ECC_NIST_P256', 'ECDSA_SHA_256', new Uint8Array(32), new Uint8Array(0)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ type: 'KeyUnavailableException', message: expect.stringContaining(`generated on YubiHSM 2 serial ${other}`) });
  });

  it('returns device randomness of the length asked for', async () => {
    const a = await backend.random(64);
    const b = await backend.random(64);
    expect(a).toHaveLength(64);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});
