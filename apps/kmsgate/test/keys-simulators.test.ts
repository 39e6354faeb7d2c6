import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore, openDb } from '@kmsgate/store';
import { TeeBridgeClient } from '@kmsgate/tee';
import { ROOT, kmsgate } from './helpers/cli';

/**
 * `kmsgate keys list`, and the simulators and the TEE bridge daemon as kmsgate commands (`kmsgate yubihsm-sim`,
 * `kmsgate tee-sim`, `kmsgate tee-bridge`), as real processes.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-keys-sims-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const KEY_A = '0a000000-0000-4000-8000-00000000000a';
const KEY_B = '0b000000-0000-4000-8000-00000000000b';

describe('kmsgate keys list', () => {
  const env = () => ({ KMSGATE_DATA_DIR: join(dir, 'data'), KMS_DB_PATH: '' });

  beforeAll(() => {
    const db = openDb(join(dir, 'data', 'kms.db'));
    try {
      const keys = new KeyStore(db);
      const key = (keyId: string, over: Partial<Parameters<KeyStore['insertKey']>[0]>) =>
        keys.insertKey({
          keyId,
          createdAt: new Date('2026-12-01T00:00:00Z'),
          description: '',
          keyUsage: 'SIGN_VERIFY',
          keySpec: 'ECC_NIST_P256',
          keyState: 'Enabled',
          origin: 'AWS_CLOUDHSM',
          backendId: 'yubihsm',
          handle: '1234567:1',
          publicKey: new Uint8Array([1]),
          ...over,
        });
      key(KEY_A, {});
      key(KEY_B, { keySpec: 'ECC_SECG_P256K1', backendId: 'tee', handle: 'tee:1', keyState: 'Disabled' });
      keys.insertAlias('alias/trader', KEY_A, new Date(), 50);
      keys.insertAlias('alias/hedger', KEY_A, new Date(), 50);
    } finally {
      db.close();
    }
  });

  it('lists every key with its aliases, spec, usage, state and backend; --backend filters; --json', async () => {
    const r = await kmsgate(env(), 'keys', 'list');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').map((l) => l.split(/\s{2,}/))).toEqual([
      ['KEY ID', 'ALIASES', 'SPEC', 'USAGE', 'STATE', 'BACKEND'],
      [KEY_A, 'alias/hedger,alias/trader', 'ECC_NIST_P256', 'SIGN_VERIFY', 'Enabled', 'yubihsm'],
      [KEY_B, '-', 'ECC_SECG_P256K1', 'SIGN_VERIFY', 'Disabled', 'tee'],
      [''],
    ]);
    const tee = JSON.parse((await kmsgate(env(), 'keys', 'list', '--backend', 'tee', '--json')).stdout) as unknown[];
    expect(tee).toEqual([
      {
        keyId: KEY_B,
        aliases: [],
        keySpec: 'ECC_SECG_P256K1',
        keyUsage: 'SIGN_VERIFY',
        keyState: 'Disabled',
        backend: 'tee',
        createdAt: '2026-12-01T00:00:00.000Z',
      },
    ]);
    expect(await kmsgate(env(), 'keys', 'list', '--backend', 'nope')).toEqual({ code: 0, stdout: 'no keys in backend nope\n', stderr: '' });
  });

  it('a usage mistake is exit 2', async () => {
    const r = await kmsgate(env(), 'keys', 'list', '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown option '--bogus'/);
  });
});

/** Resolves with the first stderr line matching `pattern`. */
function lineOf(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = pattern.exec(err);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

const BIN = join(ROOT, 'node_modules', '.bin', 'kmsgate');

describe('the simulators as kmsgate commands', () => {
  it('kmsgate yubihsm-sim serves the connector API and stops on SIGTERM with exit 0', async () => {
    const child = spawn(BIN, ['yubihsm-sim', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = exitOf(child);
    try {
      const [, url] = await lineOf(child, /yubihsm-sim: listening on (http:\/\/\S+)/);
      expect(await (await fetch(`${url}/connector/status`)).text()).toMatch(/simulator=kmsgate-yubihsm-sim/);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('kmsgate tee-sim listens on its socket and stops on SIGINT with exit 0', async () => {
    const socket = join(dir, 'tee.sock');
    const child = spawn(BIN, ['tee-sim', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = exitOf(child);
    try {
      await lineOf(child, /tee-sim: listening on /);
      await new Promise<void>((resolve, reject) => {
        const c = connect(socket, () => {
          c.destroy();
          resolve();
        });
        c.on('error', reject);
      });
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('kmsgate tee-bridge serves the host build of our TA on its socket and stops on SIGTERM with exit 0', async () => {
    const socketPath = join(dir, 'bridge.sock');
    const child = spawn(BIN, ['tee-bridge', '--socket', socketPath, '--storage', join(dir, 'tee-storage')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = exitOf(child);
    try {
      const [, listening] = await lineOf(child, /tee-bridge: listening on (\S+) \(TA [0-9a-f-]+, mode simulated, host build/);
      expect(listening).toBe(socketPath);
      const client = new TeeBridgeClient({ socketPath });
      const { handle, publicKey } = await client.call('generateKey', { keyType: 'P256', label: 'kmsgate tee-bridge' });
      expect(await client.call('getPublicKey', { handle })).toEqual({ keyType: 'P256', publicKey });
      await client.close();
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it("--help is the tool's own; a usage mistake exits 2 with the usage", async () => {
    const help = await kmsgate({}, 'tee-sim', '--help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: tee-sim --socket <path> \[options\]/);
    const missing = await kmsgate({}, 'tee-sim');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^tee-sim: --socket is required\n\nUsage: tee-sim/);
    const bridgeHelp = await kmsgate({}, 'tee-bridge', '--help');
    expect(bridgeHelp).toMatchObject({ code: 0, stderr: '' });
    expect(bridgeHelp.stdout).toMatch(/^Usage:\n {2}tee-bridge --socket <path> --libteec <libteec\.so> \[options\]/);
    const neither = await kmsgate({}, 'tee-bridge', '--socket', join(dir, 'unused.sock'));
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/^tee-bridge: give exactly one of --libteec \(a board\) or --storage \(the host build\)\n\nUsage:/);
    const bad = await kmsgate({}, 'yubihsm-sim', '--port', '70000');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^yubihsm-sim: --port must be an integer in 0\.\.65535\n/);
  });
});
