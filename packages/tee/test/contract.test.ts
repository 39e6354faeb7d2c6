// Conformance suite for the TEE bridge protocol (docs/tee-bridge-protocol.md). It speaks raw frames
// and checks the daemon's answers against the shared schema and with node:crypto, never with
// kmsgate's client. By default it runs twice, in-process: against tee-sim, and against the bridge
// daemon with the host build of our TA (tee/ta through tee/host's TEE APIs), so both behave the
// same. Set KMSGATE_TEE_SOCKET to run it against a board's bridge daemon instead (it creates and
// deletes a few keys there).
import { createHash, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostBridge } from '@kmsgate/tee-bridge';
import { startTeeSimulator } from '@kmsgate/tee-sim';
import {
  ATTESTATION_DOMAIN,
  COMMANDS,
  FRAME_READ_TIMEOUT_MS,
  HELLO_VERSION,
  KEY_TYPES,
  MAX_FRAME_BYTES,
  MAX_NONCE_BYTES,
  MAX_RANDOM_BYTES,
  MAX_SEAL_AAD_BYTES,
  MAX_SEAL_BYTES,
  MEASUREMENT_BYTES,
  MODES,
  PROTOCOL_VERSION,
  SEAL_OVERHEAD_BYTES,
  SUPPORTED_VERSIONS,
  frameBytes,
  parseTeecHex,
  type HelloInfo,
} from '../src';
import { RawConnection, rawPublicKey, type Response } from './helpers/raw-bridge';

const EXTERNAL = process.env.KMSGATE_TEE_SOCKET;

/** A daemon under test: started on a socket in a fresh directory (or one already running). */
type Target = (dir: string, socketPath: string) => Promise<{ close(): Promise<void> }>;
const TARGETS: Array<[string, Target | undefined]> = EXTERNAL
  ? [[`the bridge daemon at ${EXTERNAL}`, undefined]]
  : [
      ['tee-sim', (dir, socketPath) => startTeeSimulator({ socketPath, statePath: join(dir, 'state.json') })],
      ['tee-bridge with the host build of the TA', (dir, socketPath) => startHostBridge({ socketPath, storageDir: join(dir, 'storage') })],
    ];

describe.each(TARGETS)('%s', (_name, start) => {
  let socketPath: string;
  let daemon: { close(): Promise<void> } | undefined;
  let dir: string | undefined;
  const open: RawConnection[] = [];

  beforeAll(async () => {
    if (!start) {
      socketPath = EXTERNAL!;
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'tee-contract-'));
    socketPath = join(dir, 'bridge.sock');
    daemon = await start(dir, socketPath);
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await daemon?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<RawConnection> {
    const c = await RawConnection.open(socketPath);
    open.push(c);
    return c;
  }

  async function session(): Promise<{ c: RawConnection; hello: HelloInfo }> {
    const c = await connect();
    return { c, hello: await c.hello() };
  }

  function expectError(r: Response, code: string, teec?: string): asserts r is Extract<Response, { ok: false }> {
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    if (teec !== undefined) expect(parseTeecHex(r.error.teec ?? '')).toBe(parseTeecHex(teec));
  }

  /** After a connection-fatal error: the error (if the daemon wrote one) and then the close. */
  async function expectFatal(c: RawConnection, code: string, id: number | null = null): Promise<void> {
    const r = await c.answer(id, FRAME_READ_TIMEOUT_MS + 2_000).catch(() => undefined);
    if (r) expectError(r, code);
    await c.waitClosed(FRAME_READ_TIMEOUT_MS + 2_000);
    expect(c.invalid).toEqual([]);
  }

  describe('hello', () => {
    it('answers with the protocol version, the TA identity, the mode and the limits', async () => {
      const { c, hello } = await session();
      expect(SUPPORTED_VERSIONS).toContain(hello.protocolVersion);
      expect(MODES).toContain(hello.mode);
      expect(hello.maxFrameBytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(hello.keyTypes.length).toBeGreaterThan(0);
      expect([...KEY_TYPES]).toEqual(expect.arrayContaining(hello.keyTypes));
      // A second hello is answered the same way.
      expect(await c.hello()).toEqual(hello);
      if (!EXTERNAL) expect(hello.mode).toBe('simulated');
    });

    it('refuses any command before hello with HANDSHAKE_REQUIRED and keeps the connection', async () => {
      const c = await connect();
      expectError(await c.call('ping', {}), 'HANDSHAKE_REQUIRED');
      expectError(await c.call('random', { length: 4 }), 'HANDSHAKE_REQUIRED');
      await c.hello();
      expect((await c.call('ping', {})).ok).toBe(true);
    });

    it('closes with UNSUPPORTED_VERSION when no version is shared, or a frame carries another v', async () => {
      const a = await connect();
      const id = a.request('hello', { versions: [99] });
      await expectFatal(a, 'UNSUPPORTED_VERSION', id);
      const b = await connect();
      const id2 = b.nextId();
      b.send({ v: 99, id: id2, cmd: 'hello', deadlineMs: 1000, payload: { versions: [PROTOCOL_VERSION, 99] } });
      await expectFatal(b, 'UNSUPPORTED_VERSION', id2);
    });

    it('hello travels as version 1 and the rest as the negotiated version: a command as 1 is refused', async () => {
      const { c } = await session();
      expect(HELLO_VERSION).toBe(1);
      const id = c.nextId();
      c.send({ v: HELLO_VERSION, id, cmd: 'ping', deadlineMs: 1000, payload: {} });
      await expectFatal(c, 'UNSUPPORTED_VERSION', id);
    });
  });

  describe.each([
    ['P256', 'ECDSA_SHA_256'],
    ['SECP256K1', 'ECDSA_SHA_256'],
    ['ED25519', 'ED25519'],
  ] as const)('%s keys', (keyType, algorithm) => {
    it('generate, get the public key, sign (verified with node:crypto), delete idempotently', async () => {
      const { c, hello } = await session();
      if (!hello.keyTypes.includes(keyType)) {
        // A key type the daemon does not list is refused by the TA, and nothing is stored.
        const before = await c.ok<{ counter: number }>('getRollbackCounter', {});
        expectError(await c.call('generateKey', { keyType, label: `contract ${keyType}` }), 'TEE_ERROR', '0xFFFF000A');
        expect(await c.ok('getRollbackCounter', {})).toEqual(before);
        return;
      }
      const before = (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;
      const gen = await c.ok<{ handle: string; publicKey: string }>('generateKey', { keyType, label: `contract ${keyType}` });
      expect(gen.publicKey.length).toBe(keyType === 'ED25519' ? 64 : 130);
      const pub = await c.ok<{ keyType: string; publicKey: string }>('getPublicKey', { handle: gen.handle });
      expect(pub).toEqual({ keyType, publicKey: gen.publicKey });
      const after = (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;
      expect(after).toBeGreaterThan(before);

      const key = rawPublicKey(keyType, gen.publicKey);
      const message = Buffer.from(`contract test message for ${keyType}`);
      const input = algorithm === 'ED25519' ? message : createHash('sha256').update(message).digest();
      const { signature } = await c.ok<{ signature: string }>('sign', { handle: gen.handle, algorithm, input: input.toString('hex') });
      expect(signature.length).toBe(128);
      const sig = Buffer.from(signature, 'hex');
      if (algorithm === 'ED25519') expect(verify(null, message, key, sig)).toBe(true);
      // r ‖ s, not DER: node:crypto reads it as IEEE P1363.
      else expect(verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);

      expect(await c.ok('deleteKey', { handle: gen.handle })).toEqual({ deleted: true });
      expect((await c.ok<{ counter: number }>('getRollbackCounter', {})).counter).toBeGreaterThan(after);
      expect(await c.ok('deleteKey', { handle: gen.handle })).toEqual({ deleted: false });
      const gone = await c.call('sign', { handle: gen.handle, algorithm, input: input.toString('hex') });
      expectError(gone, 'TEE_ERROR', '0xFFFF0008');
      expect(gone.error).toMatchObject({ outcomeUnknown: false });
      expectError(await c.call('getPublicKey', { handle: gen.handle }), 'TEE_ERROR', '0xFFFF0008');
    });
  });

  describe('sign', () => {
    it('refuses an algorithm that does not fit the key, and a digest of the wrong length', async () => {
      const { c } = await session();
      const ec = await c.ok<{ handle: string }>('generateKey', { keyType: 'P256', label: 'contract mismatch' });
      const ed = await c.ok<{ handle: string }>('generateKey', { keyType: 'ED25519', label: 'contract mismatch' });
      try {
        expectError(await c.call('sign', { handle: ec.handle, algorithm: 'ED25519', input: '00' }), 'TEE_ERROR', '0xFFFF0006');
        expectError(await c.call('sign', { handle: ed.handle, algorithm: 'ECDSA_SHA_256', input: '11'.repeat(32) }), 'TEE_ERROR', '0xFFFF0006');
        expectError(await c.call('sign', { handle: ec.handle, algorithm: 'ECDSA_SHA_256', input: '11'.repeat(31) }), 'BAD_REQUEST');
        expectError(await c.call('sign', { handle: ec.handle, algorithm: 'ECDSA_SHA_256', input: 'AB'.repeat(32) }), 'BAD_REQUEST');
      } finally {
        await c.ok('deleteKey', { handle: ec.handle });
        await c.ok('deleteKey', { handle: ed.handle });
      }
    });
  });

  describe('AES_256 keys: seal and unseal', () => {
    const aad = Buffer.from('contract aad').toString('hex');
    it('generate (no public key), seal and unseal with a fresh nonce each time, delete; nothing else opens the sealed bytes', async () => {
      const { c, hello } = await session();
      if (!hello.keyTypes.includes('AES_256')) {
        expectError(await c.call('generateKey', { keyType: 'AES_256', label: 'contract AES' }), 'TEE_ERROR', '0xFFFF000A');
        return;
      }
      const before = (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;
      const key = await c.ok<{ handle: string; publicKey: string }>('generateKey', { keyType: 'AES_256', label: 'contract AES' });
      const other = await c.ok<{ handle: string }>('generateKey', { keyType: 'AES_256', label: 'contract AES 2' });
      expect(key.publicKey).toBe('');
      const afterGenerate = (await c.ok<{ counter: number }>('getRollbackCounter', {})).counter;
      expect(afterGenerate).toBe(before + 2);
      try {
        for (const n of [1, 64, MAX_SEAL_BYTES]) {
          const plaintext = randomBytes(n).toString('hex');
          const a = await c.ok<{ sealed: string }>('seal', { handle: key.handle, aad, plaintext });
          const b = await c.ok<{ sealed: string }>('seal', { handle: key.handle, aad, plaintext });
          expect(a.sealed.length).toBe((n + SEAL_OVERHEAD_BYTES) * 2);
          expect(a.sealed).not.toBe(b.sealed);
          expect(await c.ok('unseal', { handle: key.handle, aad, sealed: a.sealed })).toEqual({ plaintext });
          expect(await c.ok('unseal', { handle: key.handle, aad, sealed: b.sealed })).toEqual({ plaintext });
        }
        const { sealed } = await c.ok<{ sealed: string }>('seal', { handle: key.handle, aad: '', plaintext: '00'.repeat(64) });
        const flip = (hex: string, at: number) => {
          const b = Buffer.from(hex, 'hex');
          b[at]! ^= 1;
          return b.toString('hex');
        };
        // Another key, another AAD, any altered byte (nonce, body, tag): TEE_ERROR_MAC_INVALID from the TA.
        for (const [handle, a, s] of [
          [other.handle, '', sealed],
          [key.handle, '00', sealed],
          [key.handle, '', flip(sealed, 0)],
          [key.handle, '', flip(sealed, 40)],
          [key.handle, '', flip(sealed, 64 + SEAL_OVERHEAD_BYTES - 1)],
        ] as const) {
          const r = await c.call('unseal', { handle, aad: a, sealed: s });
          expectError(r, 'TEE_ERROR', '0xFFFF3071');
          expect(r.error).toMatchObject({ origin: 4, outcomeUnknown: false });
        }
        // Neither sealing nor opening writes the sealed state.
        expect((await c.ok<{ counter: number }>('getRollbackCounter', {})).counter).toBe(afterGenerate);
        // No public key, no signature.
        expectError(await c.call('getPublicKey', { handle: key.handle }), 'TEE_ERROR', '0xFFFF0006');
        expectError(await c.call('sign', { handle: key.handle, algorithm: 'ECDSA_SHA_256', input: '11'.repeat(32) }), 'TEE_ERROR', '0xFFFF0006');
        expectError(await c.call('sign', { handle: key.handle, algorithm: 'ED25519', input: '11' }), 'TEE_ERROR', '0xFFFF0006');
      } finally {
        expect(await c.ok('deleteKey', { handle: key.handle })).toEqual({ deleted: true });
        expect(await c.ok('deleteKey', { handle: other.handle })).toEqual({ deleted: true });
      }
      expectError(await c.call('seal', { handle: key.handle, aad, plaintext: '00' }), 'TEE_ERROR', '0xFFFF0008');
    });

    it('refuses a signing key, and lengths outside the limits', async () => {
      const { c, hello } = await session();
      const ec = await c.ok<{ handle: string }>('generateKey', { keyType: 'P256', label: 'contract not AES' });
      try {
        expectError(await c.call('seal', { handle: ec.handle, aad: '', plaintext: '00'.repeat(64) }), 'TEE_ERROR', '0xFFFF0006');
        expectError(await c.call('unseal', { handle: ec.handle, aad: '', sealed: '00'.repeat(92) }), 'TEE_ERROR', '0xFFFF0006');
      } finally {
        await c.ok('deleteKey', { handle: ec.handle });
      }
      if (!hello.keyTypes.includes('AES_256')) return;
      const { handle } = await c.ok<{ handle: string }>('generateKey', { keyType: 'AES_256', label: 'contract AES limits' });
      try {
        for (const payload of [
          { handle, aad: '', plaintext: '' },
          { handle, aad: '', plaintext: '00'.repeat(MAX_SEAL_BYTES + 1) },
          { handle, aad: '00'.repeat(MAX_SEAL_AAD_BYTES + 1), plaintext: '00' },
          { handle, aad: '', plaintext: 'AB' },
          { handle, plaintext: '00' },
        ])
          expectError(await c.call('seal', payload), 'BAD_REQUEST');
        for (const sealed of ['00'.repeat(SEAL_OVERHEAD_BYTES), '00'.repeat(MAX_SEAL_BYTES + SEAL_OVERHEAD_BYTES + 1)])
          expectError(await c.call('unseal', { handle, aad: '', sealed }), 'BAD_REQUEST');
      } finally {
        await c.ok('deleteKey', { handle });
      }
    });
  });

  describe('random', () => {
    it('returns exactly 1..1024 bytes and refuses other lengths', async () => {
      const { c } = await session();
      for (const length of [1, 32, MAX_RANDOM_BYTES]) {
        const { bytes } = await c.ok<{ bytes: string }>('random', { length });
        expect(bytes.length).toBe(length * 2);
      }
      const a = await c.ok<{ bytes: string }>('random', { length: 32 });
      const b = await c.ok<{ bytes: string }>('random', { length: 32 });
      expect(a.bytes).not.toBe(b.bytes);
      for (const length of [0, MAX_RANDOM_BYTES + 1, 1.5, -1]) expectError(await c.call('random', { length }), 'BAD_REQUEST');
    });
  });

  describe('getAttestation', () => {
    it('signs domain ‖ nonce ‖ measurement with a stable device key', async () => {
      const { c } = await session();
      let pinned: string | undefined;
      for (const n of [1, 32, MAX_NONCE_BYTES]) {
        const nonce = randomBytes(n);
        const att = await c.ok<{ algorithm: string; publicKey: string; measurement: string; nonce: string; signature: string }>('getAttestation', {
          nonce: nonce.toString('hex'),
        });
        expect(att.nonce).toBe(nonce.toString('hex'));
        expect(att.measurement.length).toBe(MEASUREMENT_BYTES * 2);
        pinned ??= att.publicKey;
        expect(att.publicKey).toBe(pinned);
        const domain = Buffer.from(ATTESTATION_DOMAIN, 'ascii');
        expect(domain.length).toBe(26);
        const signed = Buffer.concat([domain, nonce, Buffer.from(att.measurement, 'hex')]);
        const key = { key: Buffer.from(att.publicKey, 'hex'), format: 'der' as const, type: 'spki' as const };
        const sig = Buffer.from(att.signature, 'hex');
        const ok =
          att.algorithm === 'ED25519'
            ? verify(null, signed, key, sig)
            : att.algorithm === 'RSASSA_PSS_SHA256'
              ? verify('sha256', signed, { ...key, padding: 6, saltLength: 32 }, sig)
              : verify('sha256', signed, key, sig);
        expect(ok).toBe(true);
        // The signature covers the nonce: another nonce (never equal: one bit flipped, not a fresh
        // random one, which for n = 1 matches 1 time in 256) does not verify.
        const otherNonce = Buffer.from(nonce);
        otherNonce[0]! ^= 0x01;
        const other = Buffer.concat([domain, otherNonce, Buffer.from(att.measurement, 'hex')]);
        if (att.algorithm === 'ECDSA_P256_SHA256') expect(verify('sha256', other, key, sig)).toBe(false);
        // And the domain: the same bytes without it do not verify.
        if (att.algorithm === 'ECDSA_P256_SHA256') expect(verify('sha256', signed.subarray(domain.length), key, sig)).toBe(false);
      }
    });

    it('refuses an empty, too long or upper-case nonce', async () => {
      const { c } = await session();
      expectError(await c.call('getAttestation', { nonce: '' }), 'BAD_REQUEST');
      expectError(await c.call('getAttestation', { nonce: '00'.repeat(MAX_NONCE_BYTES + 1) }), 'BAD_REQUEST');
      expectError(await c.call('getAttestation', { nonce: 'ABCD' }), 'BAD_REQUEST');
      expectError(await c.call('getAttestation', {}), 'BAD_REQUEST');
    });
  });

  describe('getRollbackCounter and ping', () => {
    it('answer on a working session', async () => {
      const { c } = await session();
      const { counter } = await c.ok<{ counter: number }>('getRollbackCounter', {});
      expect(Number.isSafeInteger(counter) && counter >= 0).toBe(true);
      expect(await c.ok('ping', {})).toEqual({});
    });
  });

  describe('pipelining', () => {
    it('answers every pipelined request exactly once, matched by id', async () => {
      const { c, hello } = await session();
      const n = Math.min(24, hello.maxOutstanding);
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(i % 2 ? c.request('random', { length: 8 }) : c.request('ping', {}));
      const answers = await Promise.all(ids.map((id) => c.answer(id)));
      expect(answers.map((a) => a.id)).toEqual(ids);
      expect(answers.every((a) => a.ok)).toBe(true);
      // A fence: the daemon answers in order on one TA session, so any second answer to one of
      // those ids would have come before the answer to this ping.
      expect((await c.call('ping', {})).ok).toBe(true);
      expect(c.drain()).toEqual([]);
    });

    it('serves several connections at once', async () => {
      const conns = await Promise.all([session(), session(), session()]);
      const results = await Promise.all(conns.map(({ c }) => c.call('random', { length: 16 })));
      expect(results.every((r) => r.ok)).toBe(true);
    });
  });

  describe('bad requests keep the connection', () => {
    it('UNKNOWN_COMMAND for a command the daemon does not know', async () => {
      const { c } = await session();
      expectError(await c.call('exportPrivateKey', { handle: 'k-1' }), 'UNKNOWN_COMMAND');
      expectError(await c.call('constructor', {}), 'UNKNOWN_COMMAND');
      expect((await c.call('ping', {})).ok).toBe(true);
    });

    it('BAD_REQUEST for an invalid payload or envelope with a readable id', async () => {
      const { c } = await session();
      expectError(await c.call('generateKey', { keyType: 'RSA_2048', label: 'x' }), 'BAD_REQUEST');
      expectError(await c.call('generateKey', { keyType: 'P256', label: '' }), 'BAD_REQUEST');
      expectError(await c.call('getPublicKey', { handle: 'has spaces' }), 'BAD_REQUEST');
      const id = c.nextId();
      c.send({ v: PROTOCOL_VERSION, id, cmd: 'ping', payload: {} });
      expectError(await c.answer(id), 'BAD_REQUEST');
      const id2 = c.nextId();
      c.send({ v: PROTOCOL_VERSION, id: id2, cmd: 'ping', deadlineMs: 1000, payload: [] });
      expectError(await c.answer(id2), 'BAD_REQUEST');
      expect((await c.call('ping', {})).ok).toBe(true);
    });
  });

  describe('bad frames close the connection', () => {
    it('a body that is not JSON', async () => {
      const { c } = await session();
      c.sendBody(new TextEncoder().encode('{"v":1,"id":'));
      await expectFatal(c, 'BAD_FRAME');
    });

    it('a body that is not UTF-8', async () => {
      const { c } = await session();
      c.sendBody(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d));
      await expectFatal(c, 'BAD_FRAME');
    });

    it('JSON that is not an object, or has no valid id', async () => {
      const a = (await session()).c;
      a.sendBody(new TextEncoder().encode('[1,2,3]'));
      await expectFatal(a, 'BAD_FRAME');
      const b = (await session()).c;
      b.send({ v: 1, cmd: 'ping', deadlineMs: 1000, payload: {} });
      await expectFatal(b, 'BAD_FRAME');
      const d = (await session()).c;
      d.send({ v: 1, id: 0, cmd: 'ping', deadlineMs: 1000, payload: {} });
      await expectFatal(d, 'BAD_FRAME');
    });

    it('an empty frame', async () => {
      const { c } = await session();
      c.sendBytes(frameBytes(new Uint8Array(0)));
      await expectFatal(c, 'BAD_FRAME');
    });

    it('an oversized frame, refused from its length alone', async () => {
      const { c } = await session();
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, MAX_FRAME_BYTES + 1, false);
      c.sendBytes(head);
      await expectFatal(c, 'FRAME_TOO_LARGE');
      const d = (await session()).c;
      new DataView(head.buffer).setUint32(0, 0xffff_ffff, false);
      d.sendBytes(head);
      await expectFatal(d, 'FRAME_TOO_LARGE');
    });

    it('a truncated frame: the peer stops sending mid-frame', async () => {
      const { c } = await session();
      const whole = frameBytes(new TextEncoder().encode(JSON.stringify({ v: 1, id: 99, cmd: 'ping', deadlineMs: 1000, payload: {} })));
      c.sendBytes(whole.subarray(0, 10));
      c.socket.end();
      await expectFatal(c, 'BAD_FRAME');
    });
  });
});

it('the schema lists exactly the commands this suite exercises', () => {
  expect(Object.keys(COMMANDS).sort()).toEqual([
    'deleteKey',
    'generateKey',
    'getAttestation',
    'getPublicKey',
    'getRollbackCounter',
    'hello',
    'ping',
    'random',
    'seal',
    'sign',
    'unseal',
  ]);
});
