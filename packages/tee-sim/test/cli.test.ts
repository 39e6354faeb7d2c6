// The `tee-sim` executable: runs standalone from the TypeScript sources, says where it listens on
// stderr, serves the protocol with mode "simulated", and exits cleanly on SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TeeBridgeClient } from '@kmsgate/tee';

const BIN = join(__dirname, '..', 'bin', 'tee-sim.cjs');

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

test('--help prints usage and exits 0; a missing --socket or a bad option exits 2', () => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/Usage: tee-sim --socket <path>/);
  const missing = spawnSync(process.execPath, [BIN], { encoding: 'utf8' });
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/--socket is required/);
  const bad = spawnSync(process.execPath, [BIN, '--socket', '/tmp/x.sock', '--bogus'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
});

test('serves the bridge protocol on a 0600 socket and closes cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tee-sim-cli-'));
  const socketPath = join(dir, 'bridge.sock');
  const statePath = join(dir, 'state.json');
  const child = spawn(process.execPath, [BIN, '--socket', socketPath, '--state', statePath], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const client = new TeeBridgeClient({ socketPath });
  try {
    expect(await waitForListening(child)).toBe(socketPath);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const hello = await client.handshake();
    expect(hello).toMatchObject({ mode: 'simulated', protocolVersion: 2 });
    await client.call('generateKey', { keyType: 'ED25519', label: 'cli' });
    expect(await client.call('getRollbackCounter', {})).toEqual({ counter: 1 });
    await client.close();
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(statePath)).toBe(true);
  } finally {
    await client.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
