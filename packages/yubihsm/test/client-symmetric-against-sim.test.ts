/**
 * The client's wrap, HMAC and AES methods over real sockets against yubihsm-sim. Results are
 * checked with node:crypto, never with kmsgate code.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceError, DeviceErrorCode, MAX_WRAP_DATA, ObjectType, YubiHsmClient } from '../src';

let sim: RunningSimulator;
let client: YubiHsmClient;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
});

afterEach(async () => {
  await client.close();
  await sim.close();
});

async function deviceCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DeviceError) return e.code;
    throw e;
  }
  throw new Error('expected a device error');
}

function ccmOpen(key: Uint8Array, blob: Uint8Array): Uint8Array {
  const body = blob.subarray(13, blob.length - 16);
  const decipher = createDecipheriv(`aes-${key.length * 8}-ccm` as 'aes-256-ccm', key, blob.subarray(0, 13), { authTagLength: 16 });
  decipher.setAuthTag(blob.subarray(blob.length - 16));
  decipher.setAAD(Buffer.alloc(0), { plaintextLength: body.length });
  return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
}

describe('wrap keys, EXPORT_WRAPPED and IMPORT_WRAPPED', () => {
  it('backs up a key under a PUT wrap key and restores it', async () => {
    const key = new Uint8Array(32).fill(0x5a);
    const wrapId = await client.putWrapKey({
      id: 0x10,
      label: 'backup',
      domains: 1,
      capabilities: Capability.EXPORT_WRAPPED | Capability.IMPORT_WRAPPED,
      algorithm: Algorithm.AES256_CCM_WRAP,
      delegatedCapabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
      key,
    });
    expect(wrapId).toBe(0x10);
    const { id } = await client.generateAsymmetricKey({
      label: 'to-back-up',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
      algorithm: Algorithm.EC_P256,
    });
    const pub = await client.getPublicKey(id);
    const blob = await client.exportWrapped(wrapId, ObjectType.ASYMMETRIC_KEY, id);
    // nonce(13) || AES-256-CCM(header(59) || d || X || Y) || tag(16); the public half is X || Y.
    const plaintext = ccmOpen(key, blob);
    expect(plaintext).toHaveLength(59 + 96);
    expect(plaintext[0]).toBe(Algorithm.AES256_CCM_WRAP);
    expect(Buffer.from(plaintext.subarray(59 + 32)).equals(Buffer.from(pub.publicKey))).toBe(true);

    await client.deleteObject(id, ObjectType.ASYMMETRIC_KEY);
    expect(await client.importWrapped(wrapId, blob)).toEqual({ type: ObjectType.ASYMMETRIC_KEY, id });
    expect((await client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).origin).toBe(0x11);
    expect(await deviceCode(client.importWrapped(wrapId, blob))).toBe(DeviceErrorCode.OBJECT_EXISTS);
  });

  it('generates wrap keys inside the device and exports Ed25519 keys with their seed on request', async () => {
    const { id: wrapId, deviceSerial } = await client.generateWrapKey({
      label: 'generated',
      domains: 1,
      capabilities: Capability.EXPORT_WRAPPED | Capability.IMPORT_WRAPPED,
      algorithm: Algorithm.AES128_CCM_WRAP,
      delegatedCapabilities: Capability.SIGN_EDDSA | Capability.EXPORTABLE_UNDER_WRAP,
    });
    expect(deviceSerial).toBe(sim.device.serial);
    const { id } = await client.generateAsymmetricKey({
      label: 'ed',
      domains: 1,
      capabilities: Capability.SIGN_EDDSA | Capability.EXPORTABLE_UNDER_WRAP,
      algorithm: Algorithm.EC_ED25519,
    });
    const legacy = await client.exportWrapped(wrapId, ObjectType.ASYMMETRIC_KEY, id);
    const seeded = await client.exportWrapped(wrapId, ObjectType.ASYMMETRIC_KEY, id, { includeEd25519Seed: true });
    expect(seeded.length - legacy.length).toBe(32);
  });

  it('checks arguments at the boundary, naming the field', async () => {
    const header = { label: 'w', domains: 1, capabilities: 0n, algorithm: Algorithm.AES128_CCM_WRAP, delegatedCapabilities: 0n };
    await expect(client.putWrapKey({ ...header, key: new Uint8Array(8) })).rejects.toThrow('key must be at least 16 bytes, got 8');
    await expect(client.putWrapKey({ ...header, delegatedCapabilities: 1 as unknown as bigint, key: new Uint8Array(16) })).rejects.toThrow(
      new TypeError('delegatedCapabilities must be a bigint'),
    );
    await expect(client.generateWrapKey({ ...header, domains: 0 })).rejects.toThrow('domains must be between 1 and 65535, got 0');
    await expect(client.exportWrapped(0, ObjectType.ASYMMETRIC_KEY, 1)).rejects.toThrow('wrapKeyId must be between 1 and 65534, got 0');
    await expect(client.importWrapped(1, new Uint8Array(28))).rejects.toThrow('wrapped must be at least 29 bytes, got 28');
    expect(client.stats().connectorRequests).toBe(0);
  });
});

describe('WRAP_DATA, HMAC and AES through the client', () => {
  it('wraps and unwraps data up to MAX_WRAP_DATA', async () => {
    const key = new Uint8Array(16).fill(1);
    const id = await client.putWrapKey({
      label: 'data',
      domains: 1,
      capabilities: Capability.WRAP_DATA | Capability.UNWRAP_DATA,
      algorithm: Algorithm.AES128_CCM_WRAP,
      delegatedCapabilities: 0n,
      key,
    });
    const data = new Uint8Array(MAX_WRAP_DATA).fill(7);
    const blob = await client.wrapData(id, data);
    expect(blob).toHaveLength(MAX_WRAP_DATA + 30);
    expect(Buffer.from(ccmOpen(key, blob)).equals(Buffer.concat([Buffer.of(0), data]))).toBe(true);
    expect(Buffer.from(await client.unwrapData(id, blob)).equals(Buffer.from(data))).toBe(true);
    await expect(client.wrapData(id, new Uint8Array(MAX_WRAP_DATA + 1))).rejects.toThrow(RangeError);
  });

  it('hashes an HMAC key longer than the block first, as RFC 2104 does, and verifies on the device', async () => {
    const longKey = new Uint8Array(131).fill(0xaa);
    const id = await client.putHmacKey({
      label: 'mac',
      domains: 1,
      capabilities: Capability.SIGN_HMAC | Capability.VERIFY_HMAC,
      algorithm: Algorithm.HMAC_SHA256,
      key: longKey,
    });
    const data = new TextEncoder().encode('Test Using Larger Than Block-Size Key - Hash Key First');
    const mac = await client.signHmac(id, data);
    expect(Buffer.from(mac).equals(createHmac('sha256', longKey).update(data).digest())).toBe(true);
    expect(await client.verifyHmac(id, mac, data)).toBe(true);
    mac[0]! ^= 1;
    expect(await client.verifyHmac(id, mac, data)).toBe(false);
    const { id: generated } = await client.generateHmacKey({ label: 'gen', domains: 1, capabilities: Capability.SIGN_HMAC, algorithm: Algorithm.HMAC_SHA512 });
    expect(await client.signHmac(generated, data)).toHaveLength(64);
    await expect(client.putHmacKey({ label: 'x', domains: 1, capabilities: 0n, algorithm: Algorithm.AES128, key: longKey })).rejects.toThrow(RangeError);
  });

  it('runs AES-ECB and AES-CBC over data longer than one message, as one pass', async () => {
    const key = new Uint8Array(32).fill(0x42);
    const capabilities = Capability.ENCRYPT_ECB | Capability.DECRYPT_ECB | Capability.ENCRYPT_CBC | Capability.DECRYPT_CBC;
    const id = await client.putSymmetricKey({ label: 'aes', domains: 1, capabilities, algorithm: Algorithm.AES256, key });
    const data = new Uint8Array(5008).map((_, i) => i & 0xff);
    const iv = new Uint8Array(16).fill(9);
    const cbc = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    const expected = Buffer.concat([cbc.update(data), cbc.final()]);
    const ct = await client.encryptCbc(id, iv, data);
    expect(Buffer.from(ct).equals(expected)).toBe(true);
    expect(Buffer.from(await client.decryptCbc(id, iv, ct)).equals(Buffer.from(data))).toBe(true);
    const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const ecbCt = await client.encryptEcb(id, data);
    expect(Buffer.from(ecbCt).equals(Buffer.concat([ecb.update(data), ecb.final()]))).toBe(true);
    expect(Buffer.from(await client.decryptEcb(id, ecbCt)).equals(Buffer.from(data))).toBe(true);
    const { id: generated } = await client.generateSymmetricKey({ label: 'gen', domains: 1, capabilities, algorithm: Algorithm.AES128 });
    expect(await client.encryptEcb(generated, new Uint8Array(16))).toHaveLength(16);
    await expect(client.encryptEcb(id, new Uint8Array(24))).rejects.toThrow('data must be whole 16-byte AES blocks, got 24 bytes');
    await expect(client.encryptCbc(id, new Uint8Array(8), new Uint8Array(16))).rejects.toThrow('iv must be 16 bytes, got 8');
  });
});
