import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore, SEAL_KEY_FILE, loadOrCreateSealKey, openDb } from '@kmsgate/store';
import { runMain } from './helpers/main-process';

/**
 * The real entry point refusing to start on a configuration mistake: exit 2 (docs/configuration.md,
 * "Exit codes") and one line that says where the mistake is.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-startup-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const connectorBackend = (passwordLine: string) =>
  ['backends:', '  - id: hsm', '    type: yubihsm', '    connectorUrl: http://127.0.0.1:1', passwordLine, ''].join('\n');

it.each([
  ['a YAML file that is not YAML', () => config('bad.yaml', 'backends: [\n'), /KMSGATE_CONFIG .*bad\.yaml is not valid YAML: /],
  [
    'a passwordFile that does not exist',
    () => config('nofile.yaml', connectorBackend(`    passwordFile: ${join(dir, 'missing.password')}`)),
    /backend hsm: passwordFile .*missing\.password does not exist/,
  ],
  [
    'a passwordFile others can read',
    () => {
      const pw = join(dir, 'open.password');
      writeFileSync(pw, 'secret\n');
      chmodSync(pw, 0o644);
      return config('open.yaml', connectorBackend(`    passwordFile: ${pw}`));
    },
    /backend hsm: passwordFile .*open\.password is readable by group or others \(mode 644\); chmod 600 it/,
  ],
  [
    'a store.url that is not PostgreSQL',
    () => config('mysql.yaml', `${connectorBackend('    passwordEnv: PATH')}store:\n  url: mysql://kmsgate@db/kmsgate\n`),
    /invalid configuration in .*mysql\.yaml: store\.url: must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\//,
  ],
  [
    'store.url together with KMS_DB_PATH',
    () => config('both.yaml', `${connectorBackend('    passwordEnv: PATH')}store:\n  url: postgres://kmsgate@db/kmsgate\n`),
    /store\.url chooses PostgreSQL, but KMS_DB_PATH names an SQLite store: unset one of them/,
    { KMS_DB_PATH: 'elsewhere.db' },
  ],
  [
    'an unset passwordEnv variable',
    () => config('noenv.yaml', connectorBackend('    passwordEnv: KMSGATE_TEST_UNSET_PASSWORD')),
    /backend hsm: environment variable KMSGATE_TEST_UNSET_PASSWORD is not set/,
  ],
])('%s: exit 2 and one line naming it', async (_what, make, line, env: NodeJS.ProcessEnv = {}) => {
  const { status, stderr } = await runMain({
    KMSGATE_CONFIG: make(),
    KMSGATE_DATA_DIR: join(dir, 'data'),
    PORT: '0',
    KMSGATE_TEST_UNSET_PASSWORD: '',
    KMS_DB_PATH: '',
    ...env,
  });
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(line);
  expect(status).toBe(2);
});

it('a store whose API keys were sealed under a credential.key that is not there: exit 2, one line naming it, no new credential.key', async () => {
  const dataDir = join(dir, 'no-seal-key');
  const db = openDb(join(dataDir, 'kms.db'));
  new ApiKeyStore(db, loadOrCreateSealKey(dataDir)).generate({ label: 'before', role: 'signer' });
  db.close();
  rmSync(join(dataDir, SEAL_KEY_FILE));
  const { status, stderr } = await runMain({ KMSGATE_DATA_DIR: dataDir, PORT: '0' });
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/no credential\.key in .*no-seal-key, but the store holds 1 API key\(s\) whose SigV4 secrets are sealed under one/);
  expect(status).toBe(2);
  expect(existsSync(join(dataDir, SEAL_KEY_FILE))).toBe(false);
});
