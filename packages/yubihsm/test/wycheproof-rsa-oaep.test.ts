/**
 * DECRYPT_OAEP through the client and yubihsm-sim against Wycheproof (RFC 8017 §7.1 RSAES-OAEP),
 * with OAEP and MGF1 hashes equal and different, labels, and 2048/3072/4096-bit keys imported
 * with PUT_ASYMMETRIC_KEY. Invalid padding must be refused with INVALID_DATA.
 */
import { createHash } from 'node:crypto';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { Algorithm, Capability, DeviceErrorCode, ObjectType, YubiHsmClient } from '../src';
import { hex, loadVectors, unhex } from './helpers/vectors';

interface OaepCase {
  file: string;
  hash: string;
  mgf1Algorithm: number;
  msg: string;
  ct: string;
  label: string;
}
type Keys = Record<string, { p: string; q: string; bits: 2048 | 3072 | 4096 }>;

const vectors = loadVectors<OaepCase>('wycheproof-rsa-oaep');
const keys = (vectors as unknown as { keys: Keys }).keys;
const RSA_ALGORITHM = { 2048: Algorithm.RSA_2048, 3072: Algorithm.RSA_3072, 4096: Algorithm.RSA_4096 } as const;

let sim: RunningSimulator;
let client: YubiHsmClient;
const ids = new Map<string, number>();
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  for (const [file, k] of Object.entries(keys)) {
    const key = new Uint8Array([...unhex(k.p), ...unhex(k.q)]);
    const { id } = await client.putAsymmetricKey({
      label: file.slice(0, 40),
      domains: 1,
      capabilities: Capability.DECRYPT_OAEP,
      algorithm: RSA_ALGORITHM[k.bits],
      key,
    });
    ids.set(file, id);
  }
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe(`DECRYPT_OAEP — ${vectors.source}`, () => {
  it("the imported keys are Wycheproof's (modulus = p·q)", async () => {
    for (const [file, k] of Object.entries(keys)) {
      const { publicKey } = await client.getPublicKey(ids.get(file)!);
      expect(BigInt(`0x${hex(publicKey)}`)).toBe(BigInt(`0x${k.p}`) * BigInt(`0x${k.q}`));
    }
  });

  it.each(vectors.cases.map((v) => [`${v.result}: ${v.comment}`, v] as const))('%s', async (_name, v) => {
    const labelHash = new Uint8Array(createHash(v.hash).update(unhex(v.label)).digest());
    const decrypted = client.decryptOaep(ids.get(v.file)!, v.mgf1Algorithm, unhex(v.ct), labelHash);
    if (v.result === 'valid') {
      expect(hex(await decrypted)).toBe(v.msg);
    } else {
      await expect(decrypted).rejects.toMatchObject({ name: 'DeviceError', code: DeviceErrorCode.INVALID_DATA });
    }
  });

  it('the wrong MGF1 hash or label is INVALID_DATA, not a wrong plaintext', async () => {
    const v = vectors.cases.find((c) => c.result === 'valid' && c.file.includes('2048_sha256_mgf1sha1'))!;
    const id = ids.get(v.file)!;
    const labelHash = new Uint8Array(createHash('sha256').update(unhex(v.label)).digest());
    await expect(client.decryptOaep(id, Algorithm.RSA_MGF1_SHA256, unhex(v.ct), labelHash)).rejects.toMatchObject({
      name: 'DeviceError',
      code: DeviceErrorCode.INVALID_DATA,
    });
    const otherLabel = new Uint8Array(createHash('sha256').update('not the label').digest());
    await expect(client.decryptOaep(id, Algorithm.RSA_MGF1_SHA1, unhex(v.ct), otherLabel)).rejects.toMatchObject({
      name: 'DeviceError',
      code: DeviceErrorCode.INVALID_DATA,
    });
    expect(await client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).toMatchObject({ algorithm: Algorithm.RSA_2048 });
  });
});
