// The TEE backend and its bridge client against a bridge that misbehaves: the simulator with
// injected faults, and hand-written daemons that answer late, wrongly or never. Every call must end
// by its deadline with the AWS error the issue asks for, and nothing may be signed twice.
// Deadlines, timeouts, backoff and the breaker's cooldown run on a manual clock that the tests move
// forward: they assert what happens before and after a deadline, never how long anything took.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsError } from '@kmsgate/core';
import { startTeeSimulator, type RunningTeeSimulator } from '@kmsgate/tee-sim';
import { FrameDecoder, HELLO_VERSION, PROTOCOL_VERSION, decodeJson, encodeFrame, TeeBackend, type TeeBackendOptions } from '../src';
import { ManualClock, until } from './helpers/manual-clock';

let dir: string;
let socketPath: string;
let sim: RunningTeeSimulator | undefined;
let clock: ManualClock;
/** The client's events (late answers, breaker transitions…), in order. */
let events: string[];
const backends: TeeBackend[] = [];
const servers: Server[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-faults-'));
  socketPath = join(dir, 'bridge.sock');
  clock = new ManualClock();
  events = [];
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  await sim?.close();
  sim = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function startSim(extra: Partial<Parameters<typeof startTeeSimulator>[0]> = {}): Promise<RunningTeeSimulator> {
  sim = await startTeeSimulator({ socketPath, statePath: join(dir, 'state.json'), ...extra });
  return sim;
}

function backend(options: Partial<TeeBackendOptions> = {}): TeeBackend {
  const b = new TeeBackend({
    id: 'tee',
    socketPath,
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 500,
    clock,
    onEvent: (event) => events.push(event),
    ...options,
  });
  backends.push(b);
  return b;
}

const DIGEST = new Uint8Array(createHash('sha256').update('fault test').digest());

async function p256Key(b: TeeBackend) {
  const key = await b.generateKey('ECC_NIST_P256', 'fault-test');
  return { ...key, sign: () => b.sign(key.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', DIGEST) };
}

/** The KmsError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<{ error: KmsError }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof KmsError)) throw e;
    return { error: e };
  }
  throw new Error('expected a failure');
}

/** A call in progress, and whether it has ended yet. */
function watch<T>(result: Promise<T>): { readonly ended: boolean; result: Promise<T> } {
  const w = { ended: false, result };
  result.then(
    () => {
      w.ended = true;
    },
    () => {
      w.ended = true;
    },
  );
  return w;
}

/** One turn of the event loop, so that whatever was about to happen has happened. */
const turn = () => new Promise((r) => setImmediate(r));

describe('against the simulator', () => {
  it('signs, and the signature verifies with node:crypto', async () => {
    await startSim();
    const b = backend();
    const key = await p256Key(b);
    const der = await key.sign();
    const spki = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' });
    expect(verify('sha256', Buffer.from('fault test'), spki, der)).toBe(true);
    expect(await b.describe()).toMatchObject({ connectionState: 'CONNECTED', simulated: true, kind: 'tee', detail: { mode: 'simulated' } });
  });

  it('a slow sign times out as DependencyTimeoutException at its deadline; the late answer is dropped and nothing is signed twice', async () => {
    const s = await startSim();
    const b = backend({ requestTimeoutMs: 150 });
    const key = await p256Key(b);
    s.faults.inject({ kind: 'hold', cmd: 'sign' });
    const call = watch(key.sign());
    await until(() => s.faults.holding === 1);
    clock.advance(149);
    await turn();
    expect(call.ended).toBe(false);
    clock.advance(1);
    const { error } = await failure(call.result);
    expect(error.type).toBe('DependencyTimeoutException');
    expect(error.message).toMatch(/may have completed/);
    // The TA finishes after the deadline: its answer arrives, is counted and dropped.
    s.faults.release();
    await until(() => events.includes('late-answer'));
    expect(s.stats().invocations.sign).toBe(1);
    expect(b.stats().lateAnswers).toBe(1);
    await key.sign();
    expect(s.stats().invocations.sign).toBe(2);
  });

  it('a request that waits behind a slow one past its deadline is not executed (DEADLINE_EXCEEDED)', async () => {
    // The daemon measures the deadline it was sent on its own clock.
    const daemonClock = new ManualClock();
    const s = await startSim({ clock: daemonClock });
    const b = backend({ requestTimeoutMs: 2_000 });
    const key = await p256Key(b);
    s.faults.inject({ kind: 'hold', cmd: 'sign' });
    const slow = key.sign();
    await until(() => s.faults.holding === 1);
    const requests = s.stats().requests;
    const behind = b.client.call('sign', { handle: key.handle, algorithm: 'ECDSA_SHA_256', input: Buffer.from(DIGEST).toString('hex') }, { timeoutMs: 100 });
    await until(() => s.stats().requests === requests + 1);
    daemonClock.advance(101);
    s.faults.release();
    await expect(behind).rejects.toMatchObject({ kind: 'remote', remote: { code: 'DEADLINE_EXCEEDED', outcomeUnknown: false } });
    await slow;
    await s.idle();
    expect(s.stats().invocations.sign).toBe(1);
  });

  it('no answer at all ends at the deadline', async () => {
    const s = await startSim();
    const b = backend({ requestTimeoutMs: 120 });
    const key = await p256Key(b);
    s.faults.inject({ kind: 'drop', cmd: 'sign' });
    const call = watch(key.sign());
    await until(() => s.stats().invocations.sign === 1);
    await s.idle();
    clock.advance(119);
    await turn();
    expect(call.ended).toBe(false);
    clock.advance(1);
    expect((await failure(call.result)).error.type).toBe('DependencyTimeoutException');
    expect(s.stats().invocations.sign).toBe(1);
    await key.sign();
  });

  it('TEEC_ERROR_BUSY is ThrottlingException', async () => {
    const s = await startSim();
    const b = backend();
    const key = await p256Key(b);
    s.faults.inject({ kind: 'busy', cmd: 'sign' });
    expect((await failure(key.sign())).error.type).toBe('ThrottlingException');
    await key.sign();
  });

  it('a full queue is ThrottlingException while the calls before it are still running, without touching the bridge', async () => {
    const s = await startSim();
    const b = backend({ maxOutstanding: 2 });
    const key = await p256Key(b);
    s.faults.inject({ kind: 'hold', cmd: 'sign' });
    const before = s.stats().requests;
    const first = [watch(key.sign()), watch(key.sign())];
    await until(() => s.faults.holding === 1);
    const { error } = await failure(key.sign());
    expect(error.type).toBe('ThrottlingException');
    expect(first.map((c) => c.ended)).toEqual([false, false]);
    s.faults.release();
    await Promise.all(first.map((c) => c.result));
    expect(s.stats().invocations.sign).toBe(2);
    expect(s.stats().requests).toBe(before + 2);
  });

  it('TARGET_DEAD is KeyUnavailableException; repeated, it opens the breaker, which fails fast and half-opens after the cooldown', async () => {
    const s = await startSim();
    const b = backend({ breaker: { failureThreshold: 2, cooldownMs: 200 } });
    const key = await p256Key(b);
    s.faults.inject({ kind: 'targetDead', cmd: 'sign', times: 2 });
    expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
    expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
    expect(b.state()).toMatchObject({ breaker: 'open' });
    expect(b.state()).toMatchObject({ retryInMs: 200 });
    const requests = s.stats().requests;
    expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
    expect(s.stats().requests).toBe(requests);
    expect(await b.describe()).toMatchObject({ connectionState: 'FAILED', detail: { breaker: 'open' } });
    clock.advance(199);
    expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
    expect(s.stats().requests).toBe(requests);
    clock.advance(1);
    expect(b.state()).toMatchObject({ breaker: 'half-open' });
    await key.sign();
    expect(b.state()).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
    expect(s.stats().invocations.sign).toBe(1);
  });

  it('a connection dropped mid-call fails that call (outcome unknown, not retried) and the next call reconnects', async () => {
    const s = await startSim();
    const b = backend();
    const key = await p256Key(b);
    s.faults.inject({ kind: 'disconnect', cmd: 'sign' });
    const { error } = await failure(key.sign());
    expect(error.type).toBe('KeyUnavailableException');
    expect(error.message).toMatch(/may have completed/);
    await key.sign();
    expect(b.stats().connects).toBe(2);
    // Idle connections dropped by the daemon are reopened without an error.
    s.dropConnections();
    await until(() => b.state().connection === 'disconnected');
    await key.sign();
    expect(s.stats().invocations.sign).toBe(2);
  });

  it.each(['garbage', 'oversized', 'truncated'] as const)(
    'an answer frame that is %s drops the session (KeyUnavailableException), then it recovers',
    async (kind) => {
      const s = await startSim();
      const b = backend();
      const key = await p256Key(b);
      s.faults.inject({ kind, cmd: 'sign' });
      expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
      expect(b.stats().protocolErrors + b.stats().sessionFailures).toBeGreaterThan(0);
      await key.sign();
    },
  );

  it('a restored (rolled back) state file: every key operation is refused with KeyUnavailableException', async () => {
    let s = await startSim();
    let b = backend();
    const a = await p256Key(b);
    copyFileSync(join(dir, 'state.json'), join(dir, 'old-state.json'));
    await p256Key(b);
    await b.close();
    await s.close();
    copyFileSync(join(dir, 'old-state.json'), join(dir, 'state.json'));
    s = await startSim();
    expect(s.ta.status).toMatchObject({ ok: false, reason: expect.stringMatching(/rollback detected/) });
    b = backend();
    const { error } = await failure(b.sign(a.handle, 'ECC_NIST_P256', 'ECDSA_SHA_256', DIGEST));
    expect(error.type).toBe('KeyUnavailableException');
    expect(error.message).toMatch(/rollback or tampering/);
    expect((await failure(b.generateKey('ECC_NIST_P256', 'x'))).error.type).toBe('KeyUnavailableException');
    expect(await b.describe()).toMatchObject({ connectionState: 'FAILED', detail: { error: 'TEE_ERROR 0xFFFF000F' } });
    expect(await b.rollbackCounter()).toBe(2);
  });

  it('production: a bridge that says mode "simulated" is refused', async () => {
    await startSim();
    const b = backend({ requireReal: true });
    const { error } = await failure(b.random(8));
    expect(error.type).toBe('KeyUnavailableException');
    // Each refused session backs the next attempt off: 50 ms, then 100 ms.
    const described = b.describe();
    clock.advance(50);
    expect(await described).toMatchObject({ connectionState: 'FAILED', simulated: true, detail: { mode: 'simulated' } });
    const handshake = b.handshake();
    clock.advance(100);
    await expect(handshake).rejects.toMatchObject({ type: 'KeyUnavailableException' });
    expect(b.stats().connects).toBe(3);
  });

  it('random over 1024 bytes is asked for in chunks', async () => {
    const s = await startSim();
    const b = backend();
    expect((await b.random(2500)).length).toBe(2500);
    expect(s.stats().invocations.random).toBe(3);
    expect((await b.random(0)).length).toBe(0);
  });

  it('the bridge going away and coming back: KeyUnavailableException, then service again after the reconnect backoff', async () => {
    let s = await startSim();
    const b = backend();
    const key = await p256Key(b);
    await s.close();
    await until(() => b.state().connection === 'disconnected');
    // The connect is refused at once: no timer has to run for this call to fail.
    expect((await failure(key.sign())).error.type).toBe('KeyUnavailableException');
    const connects = b.stats().connects;
    s = await startSim();
    const call = watch(key.sign());
    await turn();
    // The first backoff is 50 ms: no new attempt before it, one after.
    clock.advance(49);
    await turn();
    expect(b.stats().connects).toBe(connects);
    clock.advance(1);
    await call.result;
    expect(b.stats().connects).toBe(connects + 1);
  });
});

describe('against hand-written daemons', () => {
  /** A daemon that runs `onFrame` for every frame it receives. */
  async function daemon(onFrame: (socket: Socket, request: { id: number; cmd: string }) => void): Promise<void> {
    const server = createServer((socket) => {
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        decoder.push(new Uint8Array(chunk));
        for (let f = decoder.next(); f; f = decoder.next()) {
          if (f.kind === 'frame') onFrame(socket, decodeJson(f.body)!.value as { id: number; cmd: string });
        }
      });
      socket.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(socketPath, r));
  }
  const HELLO = {
    protocolVersion: PROTOCOL_VERSION,
    taUuid: '00000000-0000-4000-8000-000000000000',
    buildHash: 'test',
    mode: 'real',
    maxFrameBytes: 65536,
    maxOutstanding: 8,
    keyTypes: ['P256'],
  };
  const ok = (socket: Socket, id: number, result: unknown, v = PROTOCOL_VERSION) => socket.write(encodeFrame({ v, id, ok: true, result }));

  it('a daemon that accepts but never says hello: KeyUnavailableException at the connect timeout', async () => {
    const frames: string[] = [];
    await daemon((_socket, r) => frames.push(r.cmd));
    const b = backend({ connectTimeoutMs: 150 });
    const call = watch(b.random(4));
    await until(() => frames.includes('hello'));
    clock.advance(149);
    await turn();
    expect(call.ended).toBe(false);
    clock.advance(1);
    expect((await failure(call.result)).error.type).toBe('KeyUnavailableException');
  });

  it('a daemon that says hello but never answers: DependencyTimeoutException at the deadline', async () => {
    const frames: string[] = [];
    await daemon((socket, r) => {
      frames.push(r.cmd);
      if (r.cmd === 'hello') ok(socket, r.id, HELLO, HELLO_VERSION);
    });
    const b = backend({ requestTimeoutMs: 100 });
    const call = watch(b.random(4));
    await until(() => frames.includes('random'));
    clock.advance(99);
    await turn();
    expect(call.ended).toBe(false);
    clock.advance(1);
    expect((await failure(call.result)).error.type).toBe('DependencyTimeoutException');
    const described = b.describe();
    await until(() => frames.includes('ping'));
    clock.advance(100);
    expect(await described).toMatchObject({ connectionState: 'FAILED', simulated: false, detail: { mode: 'real', error: 'bridge timeout' } });
  });

  it('a daemon that answers an id nobody asked for, or a malformed result: the session is dropped', async () => {
    await daemon((socket, r) => {
      if (r.cmd === 'hello') ok(socket, r.id, HELLO, HELLO_VERSION);
      else if (r.cmd === 'random') ok(socket, r.id + 1000, { bytes: '00' });
      else ok(socket, r.id, { signature: 'not hex' });
    });
    const b = backend();
    expect((await failure(b.random(1))).error.type).toBe('KeyUnavailableException');
    expect((await failure(b.sign('k-1', 'ECC_NIST_P256', 'ECDSA_SHA_256', DIGEST))).error.type).toBe('KeyUnavailableException');
    expect(b.stats().protocolErrors).toBe(2);
  });

  it('an error code from a later protocol revision is KMSInternalException, and the session stays', async () => {
    await daemon((socket, r) => {
      if (r.cmd === 'hello') ok(socket, r.id, HELLO, HELLO_VERSION);
      else
        socket.write(
          encodeFrame({
            v: PROTOCOL_VERSION,
            id: r.id,
            ok: false,
            error: { code: 'QUOTA_EXCEEDED', message: 'new in 1.1', outcomeUnknown: false, retryable: true },
          }),
        );
    });
    const b = backend();
    expect((await failure(b.random(1))).error.type).toBe('KMSInternalException');
    expect((await failure(b.random(1))).error.type).toBe('KMSInternalException');
    expect(b.stats()).toMatchObject({ connects: 1, protocolErrors: 0 });
  });

  it('a daemon whose hello speaks another version is refused', async () => {
    await daemon((socket, r) => ok(socket, r.id, { ...HELLO, protocolVersion: 7 }, HELLO_VERSION));
    const b = backend();
    expect((await failure(b.random(1))).error.type).toBe('KeyUnavailableException');
  });

  it('no socket at all: KeyUnavailableException at once, with no timer run', async () => {
    const b = backend();
    expect((await failure(b.random(1))).error.type).toBe('KeyUnavailableException');
    expect(b.stats().connects).toBe(1);
    // The next attempt waits for the reconnect backoff, then fails the same way.
    const described = b.describe();
    clock.advance(50);
    expect(await described).toMatchObject({ connectionState: 'FAILED', detail: { error: 'bridge unavailable' } });
    expect(b.stats().connects).toBe(2);
  });
});
