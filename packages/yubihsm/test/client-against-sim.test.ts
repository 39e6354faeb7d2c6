/**
 * The client and backend over real sockets against yubihsm-sim. Signatures are checked with
 * node:crypto only; faults are injected at the network (a byte-flipping proxy, a stopped
 * simulator), never by mocking kmsgate code.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, type Socket, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { KmsError } from '@kmsgate/core';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import {
  ALL_CAPABILITIES,
  Algorithm,
  Capability,
  DeviceError,
  DeviceErrorCode,
  ObjectType,
  ProtocolError,
  YubiHsmBackend,
  YubiHsmClient,
  type YubiHsmClientOptions,
} from '../src';

const PASSWORD = 'password';
/** A recorded public key for calls that fail before any device is asked. */
const NO_KEY = new Uint8Array(0);

function verifyEcdsa(spki: Uint8Array, hash: 'sha256' | 'sha384', message: Uint8Array, der: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return cryptoVerify(hash, message, { key, dsaEncoding: 'der' }, der);
}

function verifyEd25519(spki: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return cryptoVerify(null, message, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), signature);
}

function digest(hash: 'sha256' | 'sha384', message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(message).digest());
}

/** The raw `X || Y` from GET_PUBLIC_KEY as SPKI, built here with node:crypto, not kmsgate code. */
function spkiP256(xy: Uint8Array): Uint8Array {
  const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') };
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

async function expectRejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A connector-level man in the middle that can flip one byte of the next reply. */
async function startTamperingProxy(target: string): Promise<{ url: string; corruptNextReply(): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  let corrupt = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
        const body: Buffer[] = [];
        ur.on('data', (c: Buffer) => body.push(c));
        ur.on('end', () => {
          const out = Buffer.concat(body);
          if (corrupt && req.url === '/connector/api' && out.length > 8) {
            corrupt = false;
            out[out.length - 1]! ^= 0x01;
          }
          res.writeHead(ur.statusCode ?? 500, { 'Content-Type': 'application/octet-stream' });
          res.end(out);
        });
      });
      up.end(Buffer.concat(chunks));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    corruptNextReply: () => {
      corrupt = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('YubiHsmClient against yubihsm-sim', () => {
  let sim: RunningSimulator;
  let client: YubiHsmClient;
  const opts = (extra: Partial<YubiHsmClientOptions> = {}): YubiHsmClientOptions => ({ connectorUrl: sim.url, password: PASSWORD, ...extra });

  beforeEach(async () => {
    sim = await startSimulator({ host: '127.0.0.1', port: 0 });
    client = new YubiHsmClient(opts());
  });

  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('reports connector status and device info without a session', async () => {
    const status = await client.status();
    expect(status.healthy).toBe(true);
    const info = await client.deviceInfo();
    expect(info.serial).toBe(sim.device.serial);
    expect(info.algorithms).toEqual(expect.arrayContaining([Algorithm.EC_P256, Algorithm.EC_K256, Algorithm.EC_ED25519]));
    expect(client.stats().sessionsOpened).toBe(0);
  });

  it('opens one session with three requests (DEVICE_INFO included), then sends one request per command', async () => {
    expect(await client.echo(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(client.stats()).toMatchObject({ sessionsOpened: 1, connectorRequests: 4 });
    for (let i = 0; i < 5; i++) await client.echo(Uint8Array.of(i));
    expect(client.stats()).toMatchObject({ sessionsOpened: 1, connectorRequests: 9, retries: 0 });
  });

  it('runs every command', async () => {
    const label = 'every-command';
    const { id, deviceSerial } = await client.generateAsymmetricKey({ label, domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
    expect(id).toBeGreaterThan(0);
    expect(deviceSerial).toBe(sim.device.serial);

    const info = await client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY);
    expect(info).toMatchObject({ id, type: ObjectType.ASYMMETRIC_KEY, algorithm: Algorithm.EC_P256, capabilities: Capability.SIGN_ECDSA, domains: 1 });
    expect(new TextDecoder().decode(info.label)).toBe(label);

    const pub = await client.getPublicKey(id);
    expect(pub.algorithm).toBe(Algorithm.EC_P256);
    expect(pub.publicKey).toHaveLength(64);
    const message = new TextEncoder().encode('signed by the simulator');
    const der = await client.signEcdsa(id, digest('sha256', message));
    expect(verifyEcdsa(spkiP256(pub.publicKey), 'sha256', message, der)).toBe(true);

    const { id: edId } = await client.generateAsymmetricKey({ label: 'ed', domains: 1, capabilities: Capability.SIGN_EDDSA, algorithm: Algorithm.EC_ED25519 });
    const edPub = await client.getPublicKey(edId);
    expect(edPub.publicKey).toHaveLength(32);
    const edSig = await client.signEddsa(edId, message);
    const edSpki = new Uint8Array(
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(edPub.publicKey).toString('base64url') }, format: 'jwk' }).export({
        type: 'spki',
        format: 'der',
      }),
    );
    expect(verifyEd25519(edSpki, message, edSig)).toBe(true);

    const listed = await client.listObjects({ type: ObjectType.ASYMMETRIC_KEY });
    expect(listed.map((o) => o.id).sort()).toEqual([id, edId].sort());
    expect(await client.listObjects({ label })).toEqual([expect.objectContaining({ id, type: ObjectType.ASYMMETRIC_KEY })]);

    const random = await client.getPseudoRandom(5000);
    expect(random).toHaveLength(5000);
    expect(new Set(random).size).toBeGreaterThan(200);
    expect(await client.getPseudoRandom(0)).toHaveLength(0);

    await client.deleteObject(id, ObjectType.ASYMMETRIC_KEY);
    const gone = await expectRejection(client.getPublicKey(id));
    expect(gone).toBeInstanceOf(DeviceError);
    expect((gone as DeviceError).code).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);

    const authId = await client.putAuthenticationKey({
      id: 0x20,
      label: 'signer',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      delegatedCapabilities: 0n,
      password: 'signer-password',
    });
    expect(authId).toBe(0x20);
    expect(await client.getObjectInfo(authId, ObjectType.AUTHENTICATION_KEY)).toMatchObject({ algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION });

    await client.closeSession();
    expect(client.stats()).toMatchObject({ sessionsClosed: 1, idle: 0 });
    // A closed session is not reused: the next command opens a new one.
    await client.echo(Uint8Array.of(1));
    expect(client.stats().sessionsOpened).toBe(2);

    await client.resetDevice();
    const after = await client.listObjects();
    expect(after).toEqual([expect.objectContaining({ id: 1, type: ObjectType.AUTHENTICATION_KEY })]);
  });

  it('a key without sign-ecdsa cannot sign: INSUFFICIENT_PERMISSIONS, session kept', async () => {
    const { id } = await client.generateAsymmetricKey({ label: 'no-sign', domains: 1, capabilities: Capability.DERIVE_ECDH, algorithm: Algorithm.EC_P256 });
    const before = client.stats();
    const err = await expectRejection(client.signEcdsa(id, new Uint8Array(32)));
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).code).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(client.stats()).toMatchObject({ sessionsOpened: before.sessionsOpened, retries: 0, connectorRequests: before.connectorRequests + 1 });
  });

  it('an auth key is limited to its own capabilities and domains', async () => {
    await client.putAuthenticationKey({
      id: 0x30,
      label: 'limited',
      domains: 0x0002,
      capabilities: Capability.SIGN_ECDSA | Capability.GENERATE_ASYMMETRIC_KEY,
      delegatedCapabilities: Capability.SIGN_ECDSA,
      password: 'limited',
    });
    const { id: inDomain1 } = await client.generateAsymmetricKey({
      label: 'd1',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      algorithm: Algorithm.EC_P256,
    });
    const limited = new YubiHsmClient(opts({ authKeyId: 0x30, password: 'limited' }));
    try {
      // Outside its domains the object does not exist for this key.
      const hidden = await expectRejection(limited.signEcdsa(inDomain1, new Uint8Array(32)));
      expect((hidden as DeviceError).code).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
      const { id: own } = await limited.generateAsymmetricKey({ label: 'd2', domains: 2, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
      expect(await limited.signEcdsa(own, new Uint8Array(32))).toBeInstanceOf(Uint8Array);
      const noRandom = await expectRejection(limited.getPseudoRandom(8));
      expect((noRandom as DeviceError).code).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    } finally {
      await limited.close();
    }
  });

  it('a wrong password fails at the card cryptogram', async () => {
    const wrong = new YubiHsmClient(opts({ password: 'not-the-password' }));
    try {
      const err = await expectRejection(wrong.echo(Uint8Array.of(1)));
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).kind).toBe('cryptogram');
    } finally {
      await wrong.close();
    }
  });

  it('50 concurrent signs share at most 4 sessions and all verify', async () => {
    const pool = new YubiHsmClient(opts({ maxSessions: 4 }));
    try {
      const { id } = await pool.generateAsymmetricKey({ label: 'busy', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
      const spki = spkiP256((await pool.getPublicKey(id)).publicKey);
      const messages = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`message ${i}`));
      const sigs = await Promise.all(messages.map((m) => pool.signEcdsa(id, digest('sha256', m))));
      sigs.forEach((sig, i) => expect(verifyEcdsa(spki, 'sha256', messages[i]!, sig)).toBe(true));
      const s = pool.stats();
      expect(s.sessionsOpened).toBeLessThanOrEqual(4);
      expect(s.open).toBeLessThanOrEqual(4);
      expect(s.retries).toBe(0);
      expect(s.connectorRequests).toBe(3 * s.sessionsOpened + 2 + 50);
    } finally {
      await pool.close();
    }
  });

  it('serves waiting callers in FIFO order', async () => {
    const single = new YubiHsmClient(opts({ maxSessions: 1 }));
    try {
      const done: number[] = [];
      await Promise.all(Array.from({ length: 10 }, (_, i) => single.echo(Uint8Array.of(i)).then(() => done.push(i))));
      expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(single.stats()).toMatchObject({ sessionsOpened: 1, waiting: 0, connectorRequests: 13 });
    } finally {
      await single.close();
    }
  });

  it('frees pool slots when idle sessions are closed or discarded', async () => {
    const single = new YubiHsmClient(opts({ maxSessions: 1 }));
    try {
      await single.echo(Uint8Array.of(1));
      await single.closeSession();
      expect(single.stats()).toMatchObject({ open: 0, idle: 0, sessionsClosed: 1 });
      await single.echo(Uint8Array.of(2));
      await single.resetDevice();
      expect(single.stats()).toMatchObject({ open: 0, idle: 0 });
      expect(await single.echo(Uint8Array.of(3))).toEqual(Uint8Array.of(3));
      expect(single.stats().sessionsOpened).toBe(3);
    } finally {
      await single.close();
    }
  });

  it('moves to a new session when the message cap is reached', async () => {
    const capped = new YubiHsmClient(opts({ messageLimit: 4 }));
    try {
      for (let i = 0; i < 10; i++) expect(await capped.echo(Uint8Array.of(i))).toEqual(Uint8Array.of(i));
      const s = capped.stats();
      expect(s.sessionsOpened).toBeGreaterThanOrEqual(3);
      expect(s.sessionsClosed).toBeGreaterThanOrEqual(2);
      expect(s.retries).toBe(0);
    } finally {
      await capped.close();
    }
  });

  it('retries once on a fresh session after a response MAC mismatch', async () => {
    const proxy = await startTamperingProxy(sim.url);
    const viaProxy = new YubiHsmClient({ connectorUrl: proxy.url, password: PASSWORD });
    try {
      const { id } = await viaProxy.generateAsymmetricKey({ label: 'mitm', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
      proxy.corruptNextReply();
      expect(await viaProxy.signEcdsa(id, new Uint8Array(32))).toBeInstanceOf(Uint8Array);
      expect(viaProxy.stats()).toMatchObject({ retries: 1, sessionsOpened: 2, sessionsDiscarded: 1 });
      // Not idempotent: a corrupted reply to a key generation is reported, not retried.
      proxy.corruptNextReply();
      const err = await expectRejection(
        viaProxy.generateAsymmetricKey({ label: 'mitm2', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 }),
      );
      expect((err as ProtocolError).kind).toBe('mac');
      expect(viaProxy.stats().retries).toBe(1);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('checks arguments at the boundary, naming the field', async () => {
    await expect(client.signEcdsa(0, new Uint8Array(32))).rejects.toThrow('keyId must be between 1 and 65534, got 0');
    await expect(client.signEcdsa(1, new Uint8Array(31))).rejects.toThrow(RangeError);
    await expect(client.signEddsa(1, 'hi' as unknown as Uint8Array)).rejects.toThrow(new TypeError('message must be a Uint8Array'));
    await expect(client.generateAsymmetricKey({ label: 'x'.repeat(41), domains: 1, capabilities: 0n, algorithm: 12 })).rejects.toThrow(
      'label must be at most 40 bytes, got 41',
    );
    expect(() => new YubiHsmClient({ connectorUrl: sim.url })).toThrow('give exactly one of password or authKey');
    expect(() => new YubiHsmClient({ connectorUrl: 'ftp://x', password: 'p' })).toThrow(RangeError);
    expect(client.stats().connectorRequests).toBe(0);
  });
});

describe('session expiry', () => {
  // One manual clock drives both the device's session timeout and the pool's idle limit, so the
  // order of events decides the outcome, not how busy the machine is.
  let clock = 0;
  const now = (): number => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('replaces a session idle past the pool limit before using it', async () => {
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, sessionTimeoutMs: 400, now });
    const client = new YubiHsmClient({ connectorUrl: sim.url, password: PASSWORD, idleTimeoutMs: 150, now });
    try {
      await client.echo(Uint8Array.of(1));
      clock += 200;
      await client.echo(Uint8Array.of(2));
      expect(client.stats()).toMatchObject({ sessionsOpened: 2, sessionsDiscarded: 1, retries: 0 });
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('recovers transparently when the device expired the session first', async () => {
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, sessionTimeoutMs: 100, now });
    const client = new YubiHsmClient({ connectorUrl: sim.url, password: PASSWORD, now });
    try {
      await client.echo(Uint8Array.of(1));
      clock += 200;
      expect(await client.echo(Uint8Array.of(2))).toEqual(Uint8Array.of(2));
      expect(client.stats()).toMatchObject({ sessionsOpened: 2, retries: 1 });
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('YubiHsmBackend against yubihsm-sim', () => {
  let dir: string;
  let sim: RunningSimulator;
  let backend: YubiHsmBackend;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmsgate-yubihsm-'));
    sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath: join(dir, 'sim.json') });
    backend = new YubiHsmBackend({ id: 'hsm-test', name: 'test HSM', connectorUrl: sim.url, password: PASSWORD, maxSessions: 4, simulated: true });
  });

  afterEach(async () => {
    await backend.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('describes itself from a live check', async () => {
    const d = await backend.describe();
    expect(d).toMatchObject({ id: 'hsm-test', kind: 'yubihsm', name: 'test HSM', connectionState: 'CONNECTED', simulated: true });
    expect(d.detail).toMatchObject({ serial: sim.device.serial, authenticated: true });
    expect(d.signingAlgorithms).not.toContain('ED25519_PH_SHA_512');
  });

  it('reached only by URL, knows it is the simulator once the device has answered DEVICE_INFO as one', async () => {
    const byUrl = new YubiHsmBackend({ id: 'hsm-by-url', connectorUrl: sim.url, password: PASSWORD });
    try {
      expect(byUrl.simulated).toBe(false);
      expect(await byUrl.describe()).toMatchObject({ connectionState: 'CONNECTED', simulated: true });
      expect(byUrl.simulated).toBe(true);
    } finally {
      await byUrl.close();
    }
  });

  it('names itself by id and never shows the connector URL (describe() feeds the open /health)', async () => {
    const unnamed = new YubiHsmBackend({ id: 'hsm-unnamed', connectorUrl: sim.url, password: PASSWORD });
    try {
      const d = await unnamed.describe();
      expect(d).toMatchObject({ name: 'YubiHSM 2 (hsm-unnamed)', connectionState: 'CONNECTED' });
      expect(d.detail).not.toHaveProperty('connector');
      expect(JSON.stringify(d)).not.toContain('127.0.0.1');
    } finally {
      await unnamed.close();
    }
  });

  it('generates keys that can never leave the device when its authentication key may not delegate exportable-under-wrap', async () => {
    const admin = new YubiHsmClient({ connectorUrl: sim.url, password: PASSWORD });
    await admin.putAuthenticationKey({
      id: 0x77,
      label: 'no-export',
      domains: 1,
      capabilities: Capability.GENERATE_ASYMMETRIC_KEY | Capability.SIGN_ECDSA,
      delegatedCapabilities: Capability.SIGN_ECDSA | Capability.SIGN_EDDSA,
      password: 'no-export',
    });
    await admin.close();
    const narrow = new YubiHsmBackend({ id: 'hsm-narrow', connectorUrl: sim.url, authKeyId: 0x77, password: 'no-export' });
    try {
      const key = await narrow.generateKey('ECC_NIST_P256', 'narrow');
      const id = Number(key.handle.split(':')[1]);
      expect((await narrow.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).capabilities).toBe(Capability.SIGN_ECDSA);
    } finally {
      await narrow.close();
    }
  });

  const cases = [
    { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
    { spec: 'ECC_NIST_P384', algorithm: 'ECDSA_SHA_384', hash: 'sha384' },
    { spec: 'ECC_SECG_P256K1', algorithm: 'ECDSA_SHA_256', hash: 'sha256' },
    { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_SHA_512', hash: undefined },
  ] as const;

  for (const c of cases) {
    it(`generates, signs and deletes ${c.spec} keys`, async () => {
      const key = await backend.generateKey(c.spec, `label-${c.spec}`);
      expect(await backend.getPublicKey(key.handle, c.spec)).toEqual(key.publicKey);
      const [serial, id] = key.handle.split(':').map(Number);
      expect(serial).toBe(sim.device.serial);
      const info = await backend.client.getObjectInfo(id!, ObjectType.ASYMMETRIC_KEY, serial);
      // Signing, and exportable-under-wrap since the factory key may delegate it (backups).
      expect(info.capabilities).toBe((c.hash ? Capability.SIGN_ECDSA : Capability.SIGN_EDDSA) | Capability.EXPORTABLE_UNDER_WRAP);
      const message = new TextEncoder().encode(`message for ${c.spec}`);
      if (c.hash) {
        const sig = await backend.sign(key.handle, c.spec, c.algorithm, digest(c.hash, message), key.publicKey);
        expect(sig[0]).toBe(0x30);
        expect(verifyEcdsa(key.publicKey, c.hash, message, sig)).toBe(true);
      } else {
        const sig = await backend.sign(key.handle, c.spec, c.algorithm, message, key.publicKey);
        expect(sig).toHaveLength(64);
        expect(verifyEd25519(key.publicKey, message, sig)).toBe(true);
      }
      await backend.deleteKey(key.handle, c.spec, key.publicKey);
      await backend.deleteKey(key.handle, c.spec, key.publicKey);
      const err = await expectRejection(backend.sign(key.handle, c.spec, c.algorithm, c.hash ? digest(c.hash, message) : message, key.publicKey));
      expect(err).toBeInstanceOf(KmsError);
      expect((err as KmsError).type).toBe('KeyUnavailableException');
      expect((err as KmsError).message).toBe('The key material is missing from backend hsm-test.');
    });
  }

  it('refuses a handle that is not <serial>:<object ID>', async () => {
    const key = await backend.generateKey('ECC_NIST_P256', 'bare');
    const id = key.handle.split(':')[1]!;
    for (const handle of [id, `:${id}`, `${sim.device.serial}:`, `0${sim.device.serial}:${id}`, `${sim.device.serial}:65535`, `4294967296:${id}`]) {
      const err = await expectRejection(backend.sign(handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', new Uint8Array(32), NO_KEY));
      expect(err).toMatchObject({ type: 'KMSInternalException', message: 'The key handle is not a YubiHSM 2 key handle of backend hsm-test.' });
    }
  });

  it('refuses Ed25519ph, which the device cannot do', async () => {
    const key = await backend.generateKey('ECC_NIST_EDWARDS25519', 'ph');
    const err = await expectRejection(backend.sign(key.handle, 'ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', new Uint8Array(64), key.publicKey));
    expect((err as KmsError).type).toBe('UnsupportedOperationException');
  });

  it('signs in steady state with exactly one connector request each', async () => {
    const key = await backend.generateKey('ECC_NIST_P256', 'steady');
    const d = digest('sha256', Uint8Array.of(1));
    await backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey);
    const before = backend.stats().connectorRequests;
    const simBefore = sim.stats().apiRequests;
    for (let i = 0; i < 20; i++) await backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey);
    expect(backend.stats().connectorRequests - before).toBe(20);
    expect(sim.stats().apiRequests - simBefore).toBe(20);
  });

  it('50 parallel signs through the backend all verify', async () => {
    const key = await backend.generateKey('ECC_SECG_P256K1', 'parallel');
    const messages = Array.from({ length: 50 }, (_, i) => Uint8Array.of(i, i, i));
    const sigs = await Promise.all(messages.map((m) => backend.sign(key.handle, 'ECC_SECG_P256K1', 'ECDSA_SHA_256', digest('sha256', m), key.publicKey)));
    sigs.forEach((sig, i) => expect(verifyEcdsa(key.publicKey, 'sha256', messages[i]!, sig)).toBe(true));
    expect(backend.stats().sessionsOpened).toBeLessThanOrEqual(4);
  });

  it('returns device randomness', async () => {
    const r = await backend.random(1024);
    expect(r).toHaveLength(1024);
  });

  it('maps a wrong password to KeyUnavailableException without revealing it', async () => {
    const wrong = new YubiHsmBackend({ id: 'hsm-wrong', connectorUrl: sim.url, password: 'hunter2-secret' });
    try {
      const err = await expectRejection(wrong.random(8));
      expect((err as KmsError).type).toBe('KeyUnavailableException');
      expect((err as KmsError).message).toContain('hsm-wrong');
      expect((err as KmsError).message).not.toContain('hunter2');
      expect((await wrong.describe()).connectionState).toBe('FAILED');
    } finally {
      await wrong.close();
    }
  });

  it('connector down → KeyUnavailableException; recovers when it comes back', async () => {
    const key = await backend.generateKey('ECC_NIST_P256', 'outage');
    const d = digest('sha256', Uint8Array.of(7));
    await backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey);
    const port = sim.port;
    await sim.close();

    const err = await expectRejection(backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey));
    expect(err).toBeInstanceOf(KmsError);
    expect((err as KmsError).type).toBe('KeyUnavailableException');
    expect((err as KmsError).message).toBe('The YubiHSM 2 backend hsm-test cannot be reached; retry later.');
    expect((await backend.describe()).connectionState).toBe('FAILED');

    // Same port, same state file: the key is still there, the old sessions are not.
    sim = await startSimulator({ host: '127.0.0.1', port, statePath: join(dir, 'sim.json') });
    const sig = await backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey);
    expect(verifyEcdsa(key.publicKey, 'sha256', Uint8Array.of(7), sig)).toBe(true);
    expect((await backend.describe()).connectionState).toBe('CONNECTED');
  });

  it('maps a full device to LimitExceededException', async () => {
    let err: unknown;
    for (let i = 0; i < 300 && err === undefined; i++) {
      err = await backend.generateKey('ECC_NIST_P256', `fill-${i}`).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(err).toBeInstanceOf(KmsError);
    expect((err as KmsError).type).toBe('LimitExceededException');
  });

  it('never shows its password or keys when inspected', () => {
    const shown = inspect(backend, { depth: 10, showHidden: true }) + JSON.stringify(backend);
    expect(shown).not.toContain(PASSWORD);
    expect(shown).toContain('[redacted]');
  });

  it('closes cleanly and reports DISCONNECTED', async () => {
    await backend.close();
    expect((await backend.describe()).connectionState).toBe('DISCONNECTED');
    expect(ALL_CAPABILITIES).toBeGreaterThan(0n);
  });
});

describe('YubiHsmBackend and device identity', () => {
  const SERIAL_A = 11_111_111;
  const SERIAL_B = 22_222_222;
  let dir: string;
  /** Run in reverse order after each test, whatever it left open. */
  let cleanups: (() => Promise<unknown>)[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmsgate-yubihsm-identity-'));
    cleanups = [];
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sim(options: { serial?: number; port?: number; statePath?: string }): Promise<RunningSimulator> {
    const s = await startSimulator({ host: '127.0.0.1', port: 0, ...options });
    cleanups.push(() => s.close());
    return s;
  }

  function backendOn(s: RunningSimulator, id: string, extra: { serial?: number } = {}): YubiHsmBackend {
    const b = new YubiHsmBackend({ id, connectorUrl: s.url, password: PASSWORD, ...extra });
    cleanups.push(() => b.close());
    return b;
  }

  const wrongDevice = (backendId: string) => ({
    type: 'KeyUnavailableException',
    message: `The key material for this key was generated on YubiHSM 2 serial ${SERIAL_A}, but backend ${backendId} is connected to serial ${SERIAL_B}.`,
  });

  it('a handle from another device is refused without asking this one anything', async () => {
    const simA = await sim({ serial: SERIAL_A });
    const simB = await sim({ serial: SERIAL_B });
    const onA = backendOn(simA, 'hsm-a');
    const onB = backendOn(simB, 'hsm-b');
    const keyA = await onA.generateKey('ECC_NIST_P256', 'on-a');
    const id = Number(keyA.handle.split(':')[1]);
    expect(keyA.handle).toBe(`${SERIAL_A}:${id}`);
    // B holds an unrelated key under the same object ID.
    await onB.client.generateAsymmetricKey({ id, label: 'on-b', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
    const objects = simB.device.objectCount();
    const requests = simB.stats().apiRequests;

    const d = digest('sha256', Uint8Array.of(1));
    const calls = [
      () => onB.sign(keyA.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, keyA.publicKey),
      () => onB.getPublicKey(keyA.handle, 'ECC_NIST_P256'),
      () => onB.deleteKey(keyA.handle, 'ECC_NIST_P256', keyA.publicKey),
    ];
    for (const call of calls) {
      const err = await expectRejection(call());
      expect(err).toBeInstanceOf(KmsError);
      expect(err).toMatchObject(wrongDevice('hsm-b'));
    }
    // Decided on the pooled session's serial: not one request reached B.
    expect(simB.stats().apiRequests).toBe(requests);
    expect(simB.device.objectCount()).toBe(objects);
    expect(new TextDecoder().decode((await onB.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).label)).toBe('on-b');
    // The key still works where it lives.
    expect(verifyEcdsa(keyA.publicKey, 'sha256', Uint8Array.of(1), await onA.sign(keyA.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, keyA.publicKey))).toBe(
      true,
    );
  });

  it('a device swapped under a live pool is caught on the retry session before the command is sent', async () => {
    const simA = await sim({ serial: SERIAL_A });
    const backend = backendOn(simA, 'hsm-swap');
    const key = await backend.generateKey('ECC_NIST_P256', 'on-a');
    const id = Number(key.handle.split(':')[1]);
    const d = digest('sha256', Uint8Array.of(2));
    await backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey);

    // Device B, prepared elsewhere with an unrelated key under the same object ID.
    const stateB = join(dir, 'b.json');
    const prepare = await startSimulator({ host: '127.0.0.1', port: 0, serial: SERIAL_B, statePath: stateB });
    const setup = new YubiHsmClient({ connectorUrl: prepare.url, password: PASSWORD });
    await setup.generateAsymmetricKey({ id, label: 'on-b', domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
    await setup.close();
    await prepare.close();

    // Swap: B answers on A's port. Its serial comes from its state file.
    await simA.close();
    const simB = await sim({ port: simA.port, statePath: stateB });
    expect(simB.device.serial).toBe(SERIAL_B);
    const objects = simB.device.objectCount();
    const before = backend.stats();

    const err = await expectRejection(backend.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', d, key.publicKey));
    expect(err).toMatchObject(wrongDevice('hsm-swap'));
    expect(backend.stats()).toMatchObject({ retries: before.retries + 1, sessionsOpened: before.sessionsOpened + 1 });
    // B got the old session's message, which it cannot authenticate (no such session), then
    // CREATE_SESSION, AUTHENTICATE_SESSION and DEVICE_INFO; the sign was never sent after those.
    expect(simB.stats().apiRequests).toBe(4);

    const deleted = await expectRejection(backend.deleteKey(key.handle, 'ECC_NIST_P256', key.publicKey));
    expect(deleted).toMatchObject(wrongDevice('hsm-swap'));
    expect(simB.stats().apiRequests).toBe(4);
    expect(simB.device.objectCount()).toBe(objects);
    expect((await backend.client.getObjectInfo(id, ObjectType.ASYMMETRIC_KEY)).label).toEqual(new TextEncoder().encode('on-b'));
  });

  it('a backend pinned to a serial refuses any other device at session open', async () => {
    const simA = await sim({ serial: SERIAL_A });
    const key = await backendOn(simA, 'hsm-a').generateKey('ECC_NIST_P256', 'on-a');
    const objects = simA.device.objectCount();
    const pinned = backendOn(simA, 'hsm-pinned', { serial: SERIAL_B });
    const refused = {
      type: 'KeyUnavailableException',
      message: `The YubiHSM 2 backend hsm-pinned is configured for serial ${SERIAL_B}, but is connected to serial ${SERIAL_A}.`,
    };
    const calls = [
      () => pinned.generateKey('ECC_NIST_P256', 'must-not-exist'),
      () => pinned.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', new Uint8Array(32), key.publicKey),
      () => pinned.deleteKey(key.handle, 'ECC_NIST_P256', key.publicKey),
      () => pinned.random(8),
    ];
    for (const call of calls) expect(await expectRejection(call())).toMatchObject(refused);
    expect(simA.device.objectCount()).toBe(objects);
    // Every refused session was closed again, freeing the device's slot.
    expect(pinned.stats()).toMatchObject({ sessionsOpened: 4, sessionsClosed: 4, open: 0 });

    const d = await pinned.describe();
    expect(d.connectionState).toBe('FAILED');
    expect(d.detail).toMatchObject({ serial: SERIAL_A, error: 'wrong device serial' });

    const right = backendOn(simA, 'hsm-right', { serial: SERIAL_A });
    expect((await right.generateKey('ECC_NIST_P256', 'pinned')).handle).toMatch(new RegExp(`^${SERIAL_A}:\\d+$`));
    expect((await right.describe()).connectionState).toBe('CONNECTED');
    expect(() => new YubiHsmBackend({ id: 'x', connectorUrl: simA.url, password: PASSWORD, serial: 2 ** 32 })).toThrow(RangeError);
  });

  it('a connector that does not answer in time → DependencyTimeoutException', async () => {
    // Accepts connections and never answers.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => r());
        }),
    );
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const slow = new YubiHsmBackend({ id: 'hsm-slow', connectorUrl: url, password: PASSWORD, requestTimeoutMs: 200 });
    cleanups.push(() => slow.close());

    const err = await expectRejection(slow.sign(`${SERIAL_A}:1`, 'ECC_NIST_P256', 'ECDSA_SHA_256', new Uint8Array(32), NO_KEY));
    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({
      type: 'DependencyTimeoutException',
      status: 503,
      message: 'The YubiHSM 2 backend hsm-slow did not answer in time; retry later.',
    });
    expect(await expectRejection(slow.generateKey('ECC_NIST_P256', 'slow'))).toMatchObject({ type: 'DependencyTimeoutException' });
    const d = await slow.describe();
    expect(d).toMatchObject({ connectionState: 'FAILED', detail: { error: 'connector timeout' } });
  });
});
