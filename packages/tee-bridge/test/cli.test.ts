// `tee-bridge --storage`: the one command that runs the host build of the daemon and the TA on a
// socket, for anyone to point a gateway at with KMSGATE_TEE_SOCKET.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TeeBridgeClient } from '@kmsgate/tee';
import { TA_UUID } from '../src';

const BIN = join(__dirname, '..', 'bin', 'tee-bridge.cjs');

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = /listening on (\S+)/.exec(err);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
  });
}

test('--help prints usage and exits 0; missing or conflicting options exit 2', () => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/tee-bridge --socket <path> --storage <dir>/);
  const missing = spawnSync(process.execPath, [BIN, '--storage', '/tmp/x'], { encoding: 'utf8' });
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/--socket is required/);
  const both = spawnSync(process.execPath, [BIN, '--socket', '/tmp/x.sock', '--storage', '/tmp/x', '--libteec', '/usr/lib/libteec.so.2'], { encoding: 'utf8' });
  expect(both.status).toBe(2);
  expect(both.stderr).toMatch(/exactly one of --libteec/);
});

test('--libteec with a library that is not there fails with exit 1', () => {
  const r = spawnSync(process.execPath, [BIN, '--socket', join(tmpdir(), 'tee-bridge-none.sock'), '--libteec', '/nonexistent/libteec.so.2'], {
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/libteec\.so\.2/);
});

test('--storage serves the host build on a 0600 socket, keeps keys across restarts, and exits cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tee-bridge-cli-'));
  const socketPath = join(dir, 'bridge.sock');
  const storage = join(dir, 'storage');
  const run = () => {
    const child = spawn(process.execPath, [BIN, '--socket', socketPath, '--storage', storage], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, exited };
  };
  let current = run();
  const client = new TeeBridgeClient({ socketPath });
  try {
    expect(await waitForListening(current.child)).toBe(socketPath);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(await client.handshake()).toMatchObject({
      mode: 'simulated',
      protocolVersion: 2,
      taUuid: TA_UUID,
      keyTypes: ['P256', 'SECP256K1', 'ED25519', 'AES_256'],
    });
    const { handle, publicKey } = await client.call('generateKey', { keyType: 'ED25519', label: 'cli' });
    await client.close();
    current.child.kill('SIGTERM');
    expect(await current.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socketPath)).toBe(false);

    current = run();
    await waitForListening(current.child);
    const again = new TeeBridgeClient({ socketPath });
    expect(await again.call('getPublicKey', { handle })).toEqual({ keyType: 'ED25519', publicKey });
    expect(await again.call('getRollbackCounter', {})).toEqual({ counter: 1 });
    await again.close();
    current.child.kill('SIGTERM');
    expect(await current.exited).toEqual({ code: 0, signal: null });
  } finally {
    await client.close();
    if (current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
