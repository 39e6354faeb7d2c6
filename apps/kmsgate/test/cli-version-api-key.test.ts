import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run as runApiKey } from '@kmsgate/api-key';
import { openDb } from '@kmsgate/store';
import { run } from '../src/cli';

/** `--version` on both CLIs, and `kmsgate api-key …` doing exactly what `api-key …` does. */
const ROOT = resolve(__dirname, '..', '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-alias-'));
  openDb(join(dataDir, 'kms.db')).close();
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function capture(cli: typeof run, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await cli(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { KMSGATE_DATA_DIR: dataDir },
  });
  return { code, stdout, stderr };
}

it.each([
  ['kmsgate', run],
  ['api-key', runApiKey],
] as const)('%s --version prints the version', async (_name, cli) => {
  expect(await capture(cli, ['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  expect(await capture(cli, ['-V'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
});

it("kmsgate api-key generates, lists and revokes in the same store, with api-key's output and exit codes", async () => {
  const made = await capture(run, ['api-key', 'generate', '--label', 'via-kmsgate', '--role', 'admin', '--json']);
  expect(made.code).toBe(0);
  const key = JSON.parse(made.stdout) as { id: string; label: string };
  expect(key.label).toBe('via-kmsgate');
  const listedDirect = await capture(runApiKey, ['list', '--json']);
  expect(await capture(run, ['api-key', 'list', '--json'])).toEqual(listedDirect);
  expect(JSON.parse(listedDirect.stdout)).toEqual([expect.objectContaining({ id: key.id, role: 'admin' })]);
  expect(await capture(run, ['api-key', 'revoke', key.id])).toMatchObject({ code: 0, stdout: `revoked ${key.id} (via-kmsgate)\n` });
  expect(await capture(run, ['api-key', 'revoke', 'ak_ffffffffffffffff'])).toEqual({
    code: 1,
    stdout: '',
    stderr: "api-key: no API key with id 'ak_ffffffffffffffff'\n",
  });
  expect((await capture(run, ['api-key', '--help'])).stdout).toMatch(/^Usage: api-key \[options\] \[command\]/);
});
