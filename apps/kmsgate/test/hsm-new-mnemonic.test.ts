import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMnemonic } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { kmsgate } from './helpers/cli';

let dir: string;
let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-mnemonic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('prints a new valid 24-word mnemonic once, and a different one each time', async () => {
  const a = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', sim.url);
  expect(a.code).toBe(0);
  expect(parseMnemonic(a.stdout)).toBe(a.stdout.trim());
  expect(a.stdout.trim().split(' ')).toHaveLength(24);
  expect(a.stderr).toContain('This is the only time these 24 words are shown');
  const b = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', sim.url);
  expect(b.stdout).not.toBe(a.stdout);
});

it('--out writes a 0600 file and never overwrites one', async () => {
  const out = join(dir, 'mnemonic.txt');
  const r = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', sim.url, '--out', out);
  expect(r).toMatchObject({ code: 0, stdout: '' });
  expect(statSync(out).mode & 0o777).toBe(0o600);
  const words = readFileSync(out, 'utf8');
  expect(parseMnemonic(words)).toBe(words.trim());
  const again = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', sim.url, '--out', out);
  expect(again.code).toBe(2);
  expect(again.stderr).toBe(`kmsgate: ${out} exists already; it is not overwritten\n`);
  expect(readFileSync(out, 'utf8')).toBe(words);
});

it('needs the device: a wrong password or no connector is an error and prints no words', async () => {
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'not-the-password\n', { mode: 0o600 });
  const wrong = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', sim.url, '--password-file', pw);
  expect(wrong).toEqual({ code: 2, stdout: '', stderr: 'kmsgate: the device refused a session with authentication key 1 and that password\n' });
  const down = await kmsgate({}, 'hsm', 'new-mnemonic', '--connector', 'http://127.0.0.1:1');
  expect(down.code).toBe(1);
  expect(down.stdout).toBe('');
});
