import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

/**
 * The compiled build: `npm run build`, then the gateway and the api-key CLI run as JavaScript by
 * plain node with the `kmsgate-built` condition (what deploy/systemd/kmsgate.service runs). Node
 * cannot load a .ts file, so a package that still resolved to its source would fail here.
 */
const ROOT = resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);
const BUILT = ['--conditions=kmsgate-built'];

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-built-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

it('npm run build emits JavaScript that serves KMS requests with plain node', async () => {
  const built = await run('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
  // Every workspace has sources to build.
  const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.length;
  expect(built.stdout).toMatch(new RegExp(`^built \\d+ files into the dist/ of ${workspaces} workspaces\n$`));

  const env = { ...process.env, KMSGATE_DATA_DIR: dataDir, PORT: '0', KMS_DB_PATH: '', KMSGATE_CONFIG: '' };
  // The data dir is new: the built CLI creates the store the gateway then opens.
  expect((await run(process.execPath, [...BUILT, join(ROOT, 'apps', 'kmsgate', 'dist', 'main.js'), 'init'], { env, encoding: 'utf8' })).stdout).toMatch(
    /^created a kmsgate store at /,
  );
  const key = JSON.parse(
    (
      await run(process.execPath, [...BUILT, join(ROOT, 'apps', 'api-key', 'dist', 'main.js'), 'generate', '--label', 'built', '--json'], {
        env,
        encoding: 'utf8',
      })
    ).stdout,
  );

  const server = spawn(process.execPath, [...BUILT, join(ROOT, 'apps', 'kmsgate', 'dist', 'main.js'), 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const exited = new Promise<number | null>((ok) => server.once('exit', (code) => ok(code)));
    const listening = await new Promise<{ url: string }>((ok, fail) => {
      createInterface({ input: server.stderr! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; url: string };
        if (entry.msg === 'kmsgate listening') ok(entry);
      });
      void exited.then((code) => fail(new Error(`the built server exited (${code}) before listening`)));
    });
    const res = await fetch(`${listening.url}/GenerateRandom`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.apiKey },
      body: JSON.stringify({ NumberOfBytes: 16 }),
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(((await res.json()) as { Plaintext: string }).Plaintext, 'base64')).toHaveLength(16);
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
});

it('the built gateway logs human-readable lines with LOG_FORMAT=pretty (after the build above)', async () => {
  const env = { ...process.env, KMSGATE_DATA_DIR: dataDir, PORT: '0', KMS_DB_PATH: '', KMSGATE_CONFIG: '', LOG_FORMAT: 'pretty' };
  const server = spawn(process.execPath, [...BUILT, join(ROOT, 'apps', 'kmsgate', 'dist', 'main.js'), 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const exited = new Promise<number | null>((ok) => server.once('exit', (code) => ok(code)));
    const lines: string[] = [];
    const url = await new Promise<string>((ok, fail) => {
      createInterface({ input: server.stderr! }).on('line', (line) => {
        lines.push(line);
        const m = /^\S+Z INFO {2}kmsgate listening url=(\S+) /.exec(line);
        if (m) ok(m[1]!);
      });
      void exited.then((code) => fail(new Error(`the built server exited (${code}) before listening:\n${lines.join('\n')}`)));
    });
    expect((await fetch(`${url}/version`)).status).toBe(200);
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.at(-1)).toMatch(/^\S+Z INFO {2}stopped abandoned=0$/);
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
});
