/**
 * DERIVE_ECDH on every curve the device has, through the client and yubihsm-sim, against
 * Wycheproof's shared secrets. The private keys go in with PUT_ASYMMETRIC_KEY, so both commands
 * meet outside data; off-curve peer points must be refused with INVALID_DATA.
 */
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Capability, DeviceErrorCode, YubiHsmClient } from '../src';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ algorithm: number; curve: string; private: string; public: string; shared: string }>('wycheproof-ecdh');

let sim: RunningSimulator;
let client: YubiHsmClient;
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe(`DERIVE_ECDH — ${vectors.source}`, () => {
  it.each(vectors.cases.map((v) => [`${v.result} ${v.curve}: ${v.comment}`, v] as const))('%s', async (_name, v) => {
    const { id } = await client.putAsymmetricKey({
      label: v.curve,
      domains: 1,
      capabilities: Capability.DERIVE_ECDH,
      algorithm: v.algorithm,
      key: unhex(v.private),
    });
    try {
      const derived = client.deriveEcdh(id, unhex(v.public));
      if (v.result === 'valid') {
        expect(hex(await derived)).toBe(v.shared);
      } else {
        await expect(derived).rejects.toMatchObject({ name: 'DeviceError', code: DeviceErrorCode.INVALID_DATA });
      }
    } finally {
      await client.deleteObject(id, 3);
    }
  });
});
