// The `yubihsm-sim` executable: runs standalone from the TypeScript sources, prints its URL on
// stderr, and exits cleanly on SIGINT and SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, DeviceInfo } from '@kmsgate/yubihsm';
import { plain } from './helpers/client';

const BIN = join(__dirname, '..', 'bin', 'yubihsm-sim.cjs');

function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(err);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

test('--help prints usage and exits 0; a bad option exits 2', () => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/Usage: yubihsm-sim/);
  const bad = spawnSync(process.execPath, [BIN, '--port', '70000'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/--port must be an integer/);
  const unknown = spawnSync(process.execPath, [BIN, '--bogus'], { encoding: 'utf8' });
  expect(unknown.status).toBe(2);
});

test.each(['SIGTERM', 'SIGINT'] as const)('serves the connector API and closes cleanly on %s', async (signal) => {
  const dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-cli-'));
  const statePath = join(dir, 'state.json');
  const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--state', statePath, '--serial', '31337'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = exitOf(child);
  try {
    const url = await waitForUrl(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(DeviceInfo.decodeResponse(await plain(url, Command.DEVICE_INFO)).serial).toBe(31337);
    expect(await (await fetch(`${url}/connector/status`)).text()).toMatch(/^status=OK\n/);
    expect(existsSync(statePath)).toBe(true);
    child.kill(signal);
    expect(await exited).toEqual({ code: 0, signal: null });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
