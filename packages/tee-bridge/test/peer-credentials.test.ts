// Only the configured uid may talk to the bridge daemon: the kernel's record of the peer
// (SO_PEERCRED) is checked on every connection before anything is read from it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawConnection } from '../../tee/test/helpers/raw-bridge';
import { startHostBridge, type RunningTeeBridge } from '../src';
import { peerUid } from '../src/peercred';

let dir: string;
let bridge: RunningTeeBridge | undefined;
const lines: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tee-peercred-'));
  lines.length = 0;
});
afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  rmSync(dir, { recursive: true, force: true });
});

it('reads the uid of the process at the other end of a Unix socket', async () => {
  const path = join(dir, 'probe.sock');
  const seen = new Promise<number | undefined>((resolve) => {
    const server = createServer((socket) => {
      resolve(peerUid(socket));
      socket.destroy();
      server.close();
    });
    server.listen(path, () => createConnection(path).on('error', () => undefined));
  });
  expect(await seen).toBe(process.getuid!());
});

it('serves its own uid by default', async () => {
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage'), log: (l) => lines.push(l) });
  const c = await RawConnection.open(bridge.socketPath);
  try {
    expect((await c.hello()).taUuid).toBe(bridge.hello.taUuid);
  } finally {
    c.destroy();
  }
  expect(bridge.stats().refusedPeers).toBe(0);
});

it('closes a connection from any other uid before reading it, and logs it', async () => {
  const other = process.getuid!() + 1;
  bridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage'), allowedUid: other, log: (l) => lines.push(l) });
  const c = await RawConnection.open(bridge.socketPath);
  try {
    c.request('hello', { versions: [2] });
    await c.waitClosed();
    expect(c.drain()).toEqual([]);
  } finally {
    c.destroy();
  }
  expect(bridge.stats()).toMatchObject({ refusedPeers: 1, requests: 0 });
  expect(lines).toContainEqual(`refused a connection from uid ${process.getuid!()}: only uid ${other} may connect`);
});

it('refuses an allowedUid that is not a uid', async () => {
  await expect(startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage'), allowedUid: -1 })).rejects.toThrow(RangeError);
});
