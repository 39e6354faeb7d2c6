// The daemon side of the faults: frames that stall, ids reused while outstanding, per-connection
// limits, requests that wait past their deadline, and the injected faults as a raw client sees them.
// The daemon's frame timeout and request deadlines run on a manual clock the tests move forward.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, frameBytes } from '@kmsgate/tee';
import { ManualClock, until } from '../../tee/test/helpers/manual-clock';
import { RawConnection } from '../../tee/test/helpers/raw-bridge';
import { startTeeSimulator, type RunningTeeSimulator } from '../src';

let dir: string;
let sim: RunningTeeSimulator;
let clock: ManualClock;
const conns: RawConnection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-sim-daemon-'));
  clock = new ManualClock();
  sim = await startTeeSimulator({ socketPath: join(dir, 'bridge.sock'), frameTimeoutMs: 100, maxOutstanding: 2, clock });
});
afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  sim.faults.release();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function session(): Promise<RawConnection> {
  const c = await RawConnection.open(sim.socketPath);
  conns.push(c);
  await c.hello();
  return c;
}

it('closes a connection whose frame stalls mid-way, at the frame timeout', async () => {
  const c = await session();
  const timers = clock.pending;
  c.sendBytes(frameBytes(new Uint8Array(50).fill(0x20)).subarray(0, 20));
  // The daemon has the partial frame once it waits on its frame timer.
  await until(() => clock.pending > timers);
  clock.advance(99);
  await new Promise((r) => setImmediate(r));
  expect(c.closed).toBe(false);
  expect(c.drain()).toEqual([]);
  clock.advance(1);
  const r = await c.answer(null);
  expect(r).toMatchObject({ ok: false, error: { code: 'BAD_FRAME', message: expect.stringMatching(/incomplete frame/) } });
  await c.waitClosed();
});

it('closes a connection that reuses an id still outstanding', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'hold', cmd: 'ping' });
  c.send({ v: PROTOCOL_VERSION, id: 42, cmd: 'ping', deadlineMs: 1000, payload: {} });
  await until(() => sim.faults.holding === 1);
  c.send({ v: PROTOCOL_VERSION, id: 42, cmd: 'random', deadlineMs: 1000, payload: { length: 1 } });
  expect(await c.answer(42)).toMatchObject({ ok: false, error: { code: 'BAD_FRAME', message: expect.stringMatching(/already outstanding/) } });
  await c.waitClosed(1_000);
});

it('answers BUSY beyond maxOutstanding on one connection, and DEADLINE_EXCEEDED without executing what waited too long', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'hold', cmd: 'random' });
  const slow = c.request('random', { length: 1 });
  await until(() => sim.faults.holding === 1);
  const waiting = c.request('random', { length: 2 }, 50);
  const third = c.request('random', { length: 3 });
  expect(await c.answer(third)).toMatchObject({ ok: false, error: { code: 'BUSY', retryable: true, outcomeUnknown: false } });
  // The daemon has both; the one waiting behind the held call outlives its 50 ms there.
  clock.advance(51);
  sim.faults.release();
  expect((await c.answer(slow)).ok).toBe(true);
  expect(await c.answer(waiting)).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED', outcomeUnknown: false } });
  expect(sim.stats().invocations.random).toBe(1);
});

it('reports injected TEE faults with their TEEC code and origin', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'busy', cmd: 'random' });
  expect(await c.call('random', { length: 1 })).toMatchObject({ ok: false, error: { code: 'TEE_ERROR', teec: '0xFFFF000D', origin: 3, retryable: true } });
  sim.faults.inject({ kind: 'targetDead', cmd: ['generateKey', 'random'], times: 2 });
  expect(await c.call('generateKey', { keyType: 'P256', label: 'x' })).toMatchObject({
    ok: false,
    error: { teec: '0xFFFF3024', origin: 3, outcomeUnknown: true },
  });
  expect(await c.call('random', { length: 1 })).toMatchObject({ ok: false, error: { teec: '0xFFFF3024', outcomeUnknown: false } });
  expect(sim.faults.pending).toBe(0);
  expect((await c.call('random', { length: 1 })).ok).toBe(true);
});

it('drops a connection on an injected disconnect without executing the request', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'disconnect', cmd: 'generateKey' });
  c.request('generateKey', { keyType: 'P256', label: 'x' });
  await c.waitClosed(1_000);
  await sim.idle();
  expect(sim.stats().invocations.generateKey).toBe(0);
});

it('refuses to listen where another simulator listens, or on a file that is not a socket, and replaces a stale socket', async () => {
  await expect(startTeeSimulator({ socketPath: sim.socketPath })).rejects.toThrow(/already listening/);
  const file = join(dir, 'plain');
  writeFileSync(file, 'x');
  await expect(startTeeSimulator({ socketPath: file })).rejects.toThrow(/not a socket/);
});
