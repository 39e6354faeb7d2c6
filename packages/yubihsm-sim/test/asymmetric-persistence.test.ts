// Keys of the curves added with PUT_ASYMMETRIC_KEY, imported RSA keys and opaque objects survive a
// restart from the state file unchanged: same public key, same data, still usable.
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Algorithm, Capability, Command, GetOpaque, GetPublicKey, PutAsymmetricKey, PutOpaque, SignPkcs1 } from '@kmsgate/yubihsm';
import { startSimulator } from '../src';
import { TestSession } from './helpers/client';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-asym-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

test('P-224, Brainpool, imported RSA and opaque objects persist', async () => {
  const statePath = join(dir, 'state.json');
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const pq = new Uint8Array(Buffer.concat([jwk.p!, jwk.q!].map((b) => Buffer.concat([Buffer.alloc(128), Buffer.from(b, 'base64url')]).subarray(-128))));
  const put = (id: number, algorithm: number, key: Uint8Array): Uint8Array =>
    PutAsymmetricKey.encodeRequest({ id, label: label('persist'), domains: 1, capabilities: Capability.SIGN_ECDSA | Capability.SIGN_PKCS, algorithm, key });
  const keys: Array<[number, number, Uint8Array]> = [
    [0x21, Algorithm.EC_P224, new Uint8Array(28).fill(3)],
    [0x22, Algorithm.EC_BP512, new Uint8Array(64).fill(5)],
    [0x23, Algorithm.RSA_2048, pq],
  ];
  const data = new Uint8Array(700).map((_, i) => (i * 7) & 0xff);

  const first = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  const before = new Map<number, Uint8Array>();
  try {
    const s = await TestSession.open(first.url);
    for (const [id, algorithm, key] of keys) {
      await s.send(Command.PUT_ASYMMETRIC_KEY, put(id, algorithm, key));
      before.set(id, GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: id }))).publicKey);
    }
    await s.send(
      Command.PUT_OPAQUE,
      PutOpaque.encodeRequest({ id: 0x24, label: label('blob'), domains: 1, capabilities: 0n, algorithm: Algorithm.OPAQUE_DATA, data }),
    );
  } finally {
    await first.close();
  }

  const second = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
  try {
    const s = await TestSession.open(second.url);
    for (const [id] of keys) {
      const after = GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId: id }))).publicKey;
      expect(Buffer.from(after)).toEqual(Buffer.from(before.get(id)!));
    }
    expect(Buffer.from(GetOpaque.decodeResponse(await s.send(Command.GET_OPAQUE, GetOpaque.encodeRequest({ id: 0x24 }))).data)).toEqual(Buffer.from(data));
    const message = label('after restart');
    const hash = new Uint8Array(createHash('sha256').update(message).digest());
    const signature = SignPkcs1.decodeResponse(await s.send(Command.SIGN_PKCS1, SignPkcs1.encodeRequest({ keyId: 0x23, digest: hash }))).signature;
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: jwk.n!, e: jwk.e! }, format: 'jwk' });
    expect(verify('sha256', message, publicKey, signature)).toBe(true);
  } finally {
    await second.close();
  }
});
