// The daemon side of the faults: frames that stall, ids reused while outstanding, per-connection
// limits, requests that wait past their deadline, and the injected faults as a raw client sees them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, frameBytes } from '@kmsgate/tee';
import { RawConnection } from '../../tee/test/helpers/raw-bridge';
import { startTeeSimulator, type RunningTeeSimulator } from '../src';

let dir: string;
let sim: RunningTeeSimulator;
const conns: RawConnection[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-sim-daemon-'));
  sim = await startTeeSimulator({ socketPath: join(dir, 'bridge.sock'), frameTimeoutMs: 100, maxOutstanding: 2 });
});
afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function session(): Promise<RawConnection> {
  const c = await RawConnection.open(sim.socketPath);
  conns.push(c);
  await c.hello();
  return c;
}

it('closes a connection whose frame stalls mid-way, after the frame timeout', async () => {
  const c = await session();
  const t0 = Date.now();
  c.sendBytes(frameBytes(new Uint8Array(50).fill(0x20)).subarray(0, 20));
  const r = await c.answer(null);
  expect(r).toMatchObject({ ok: false, error: { code: 'BAD_FRAME', message: expect.stringMatching(/incomplete frame/) } });
  await c.waitClosed(1_000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
});

it('closes a connection that reuses an id still outstanding', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'delay', cmd: 'ping', ms: 100 });
  c.send({ v: PROTOCOL_VERSION, id: 42, cmd: 'ping', deadlineMs: 1000, payload: {} });
  c.send({ v: PROTOCOL_VERSION, id: 42, cmd: 'random', deadlineMs: 1000, payload: { length: 1 } });
  expect(await c.answer(42)).toMatchObject({ ok: false, error: { code: 'BAD_FRAME', message: expect.stringMatching(/already outstanding/) } });
  await c.waitClosed(1_000);
});

it('answers BUSY beyond maxOutstanding on one connection, and DEADLINE_EXCEEDED without executing what waited too long', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'delay', cmd: 'random', ms: 150 });
  const slow = c.request('random', { length: 1 });
  const waiting = c.request('random', { length: 2 }, 50);
  const third = c.request('random', { length: 3 });
  expect(await c.answer(third)).toMatchObject({ ok: false, error: { code: 'BUSY', retryable: true, outcomeUnknown: false } });
  expect((await c.answer(slow)).ok).toBe(true);
  expect(await c.answer(waiting)).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED', outcomeUnknown: false } });
  expect(sim.stats().invocations.random).toBe(1);
});

it('reports injected TEE faults with their TEEC code and origin', async () => {
  const c = await session();
  sim.faults.inject({ kind: 'busy', cmd: 'random' });
  expect(await c.call('random', { length: 1 })).toMatchObject({ ok: false, error: { code: 'TEE_ERROR', teec: '0xFFFF000D', origin: 3, retryable: true } });
  sim.faults.inject({ kind: 'targetDead', cmd: ['generateKey', 'random'], times: 2 });
  expect(await c.call('generateKey', { keyType: 'P256', label: 'x' })).toMatchObject({ ok: false, error: { teec: '0xFFFF3024', origin: 3, outcomeUnknown: true } });
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
