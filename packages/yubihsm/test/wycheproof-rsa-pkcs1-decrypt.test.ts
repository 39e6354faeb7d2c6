/**
 * DECRYPT_PKCS1 through the client and yubihsm-sim against Wycheproof (RFC 8017 §7.2
 * RSAES-PKCS1-v1_5), the key imported with PUT_ASYMMETRIC_KEY. Bad padding is INVALID_DATA.
 */
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceErrorCode, YubiHsmClient } from '../src';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ msg: string; ct: string }>('wycheproof-rsa-pkcs1-decrypt');
const key = (vectors as unknown as { key: { p: string; q: string } }).key;

let sim: RunningSimulator;
let client: YubiHsmClient;
let id: number;
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  ({ id } = await client.putAsymmetricKey({
    label: 'wycheproof pkcs1',
    domains: 1,
    capabilities: Capability.DECRYPT_PKCS,
    algorithm: Algorithm.RSA_2048,
    key: new Uint8Array([...unhex(key.p), ...unhex(key.q)]),
  }));
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe(`DECRYPT_PKCS1 — ${vectors.source}`, () => {
  it.each(vectors.cases.map((v) => [`${v.result}: ${v.comment}`, v] as const))('%s', async (_name, v) => {
    const decrypted = client.decryptPkcs1(id, unhex(v.ct));
    if (v.result === 'valid') {
      expect(hex(await decrypted)).toBe(v.msg);
    } else {
      await expect(decrypted).rejects.toMatchObject({ name: 'DeviceError', code: DeviceErrorCode.INVALID_DATA });
    }
  });
});
