import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from './helpers/main-process';

/** The real entry point with `store.url` (docs/configuration.md, "store"). */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-store-url-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('a PostgreSQL store.url: refused with one line naming it (this version has no PostgreSQL store bundle), the password never printed, nothing created', async () => {
  const password = 'pg-password-that-must-not-be-logged';
  const passwordFile = join(dir, 'pg.password');
  writeFileSync(passwordFile, `${password}\n`);
  chmodSync(passwordFile, 0o600);
  const config = join(dir, 'kmsgate.yaml');
  writeFileSync(
    config,
    [
      'backends:',
      '  - id: yubihsm',
      '    type: yubihsm',
      '    embedded: true',
      'store:',
      '  url: postgres://kmsgate@127.0.0.1:1/kmsgate',
      `  passwordFile: ${passwordFile}`,
      '',
    ].join('\n'),
  );
  const dataDir = join(dir, 'data');
  const { status, stderr } = await runMain({ KMSGATE_CONFIG: config, KMSGATE_DATA_DIR: dataDir, PORT: '0', KMS_DB_PATH: '' });
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toContain(
    'store.url names a PostgreSQL database (postgres://kmsgate@127.0.0.1:1/kmsgate), but this kmsgate cannot open its keys, API keys and audit log there yet',
  );
  expect(stderr).not.toContain(password);
  expect(status).toBe(2);
  expect(existsSync(join(dataDir, 'kms.db'))).toBe(false);
});
