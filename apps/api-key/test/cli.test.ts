import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiKeyStore, loadOrCreateSealKey, openDb } from '@kmsgate/store';
import { run } from '../src/cli';

const ROOT = resolve(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'apps', 'api-key', 'bin', 'api-key.cjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-'));
  // The store the server would have created on its first start (api-key refuses a missing one: apps/kmsgate/test/data-dir.test.ts).
  openDb(join(dataDir, 'kms.db')).close();
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function exec(file: string, args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, KMSGATE_DATA_DIR: dataDir };
  delete env.KMS_DB_PATH;
  return new Promise((res) => {
    execFile(file, args, { cwd: ROOT, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

/** The installed bin: the CJS shim that registers tsx, then src/main.ts. */
const cli = (...args: string[]) => exec(process.execPath, [BIN, ...args]);

test('generate prints the x-api-key value and the SigV4 pair on stdout, each once, and what kmsgate keeps of them on stderr', async () => {
  const r = await cli('generate', '--label', 'ci');
  expect(r.code).toBe(0);
  const m = /^x-api-key {10}(kmsgate_[A-Za-z0-9_-]{43})\naccess key id {6}(KG[A-Z2-7]{18})\nsecret access key {2}([A-Za-z0-9+/]{40})\n$/.exec(r.stdout);
  expect(m).not.toBeNull();
  const [, apiKey, accessKeyId, secretAccessKey] = m as unknown as [string, string, string, string];
  expect(r.stderr).toMatch(/^Created API key ak_[0-9a-f]{16} \(label "ci", role signer; scope: every key; does not expire\)\.\n/);
  expect(r.stderr).toContain('kmsgate keeps only a hash of the x-api-key value and a copy of the secret access key sealed under credential.key');
  for (const secret of [apiKey, secretAccessKey]) {
    expect(r.stderr).not.toContain(secret);
    expect(r.stdout.split(secret)).toHaveLength(2);
  }

  // Both credentials work against the same store the server would open.
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    const store = new ApiKeyStore(db, loadOrCreateSealKey(dataDir));
    expect(store.findByApiKey(apiKey)).toMatchObject({ label: 'ci', role: 'signer' });
    expect(store.findSigV4Secret(accessKeyId)?.secretAccessKey).toBe(secretAccessKey);
  } finally {
    db.close();
  }
  if (process.platform !== 'win32') expect(statSync(join(dataDir, 'credential.key')).mode & 0o777).toBe(0o600);
});

test('generate --json prints one JSON object with every credential', async () => {
  const r = await cli('generate', '--label', 'ops', '--role', 'admin', '--json');
  expect(r.code).toBe(0);
  const k = JSON.parse(r.stdout) as Record<string, string>;
  expect(Object.keys(k).sort()).toEqual(['accessKeyId', 'apiKey', 'createdAt', 'expiresAt', 'id', 'label', 'role', 'secretAccessKey']);
  expect(k.expiresAt).toBeNull();
  expect(k).toMatchObject({ label: 'ops', role: 'admin' });
  expect(k.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
  expect(r.stderr).not.toContain(k.secretAccessKey!);

  const db = openDb(join(dataDir, 'kms.db'));
  try {
    const found = new ApiKeyStore(db, loadOrCreateSealKey(dataDir)).findSigV4Secret(k.accessKeyId!);
    expect(found?.secretAccessKey).toBe(k.secretAccessKey);
  } finally {
    db.close();
  }
});

test('generate --env prints export lines a shell evaluates into the variables the README and the AWS tools read', async () => {
  const r = await cli('generate', '--label', 'sh', '--env');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /^export KMSGATE_API_KEY='kmsgate_[A-Za-z0-9_-]{43}'\nexport AWS_ACCESS_KEY_ID='KG[A-Z2-7]{18}'\nexport AWS_SECRET_ACCESS_KEY='[A-Za-z0-9+/]{40}'\n$/,
  );
  expect(r.stderr).toContain('a copy of the secret access key sealed under credential.key');
  const sh = await exec('/bin/sh', ['-c', `eval "$1"; printf '%s %s %s' "$KMSGATE_API_KEY" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"`, 'sh', r.stdout]);
  const [apiKey, accessKeyId, secret] = sh.stdout.split(' ');
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    const store = new ApiKeyStore(db, loadOrCreateSealKey(dataDir));
    expect(store.findByApiKey(apiKey!)).toMatchObject({ label: 'sh' });
    expect(store.findSigV4Secret(accessKeyId!)?.secretAccessKey).toBe(secret);
  } finally {
    db.close();
  }
  expect((await cli('generate', '--label', 'x', '--env', '--json')).code).toBe(1);
});

test('generate refuses a bad role or label, with exit code 1', async () => {
  const badRole = await cli('generate', '--label', 'x', '--role', 'root');
  expect(badRole.code).toBe(1);
  expect(badRole.stdout).toBe('');
  expect(badRole.stderr).toMatch(/Allowed choices are admin, signer/);
  const badLabel = await cli('generate', '--label', 'x'.repeat(129));
  expect(badLabel.code).toBe(1);
  expect(badLabel.stderr).toBe('api-key: label must be 1 to 128 characters, got 129\n');
  const noLabel = await cli('generate');
  expect(noLabel.code).toBe(1);
  expect(noLabel.stderr).toMatch(/required option '--label <label>' not specified/);
});

test('list shows every key and no secret; revoke works; an unknown id exits 1', async () => {
  const a = JSON.parse((await cli('generate', '--label', 'alpha', '--json')).stdout) as Record<string, string>;
  const b = JSON.parse((await cli('generate', '--label', 'beta', '--role', 'admin', '--json')).stdout) as Record<string, string>;

  const list = await cli('list');
  expect(list.code).toBe(0);
  const lines = list.stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^ID\s+LABEL\s+ROLE\s+ACCESS KEY ID\s+CREATED\s+EXPIRES\s+REVOKED\s+LAST USED\s+SCOPE$/);
  expect(lines[1]).toMatch(/Z {2}never {2}/);
  expect(lines).toHaveLength(3);
  expect(lines[1]).toContain(a.id!);
  expect(lines[1]).toContain(a.accessKeyId!);
  expect(lines[2]).toContain('beta');
  for (const out of [list.stdout, list.stderr]) {
    for (const secret of [a.apiKey!, a.secretAccessKey!, b.apiKey!, b.secretAccessKey!]) expect(out).not.toContain(secret);
  }

  const revoked = await cli('revoke', a.id!);
  expect(revoked.code).toBe(0);
  expect(revoked.stdout).toBe(`revoked ${a.id} (alpha)\n`);
  const again = await cli('revoke', a.id!);
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(new RegExp(`${a.id} was already revoked at \\d{4}-`));

  const json = JSON.parse((await cli('list', '--json')).stdout) as Record<string, string | null>[];
  expect(json.map((r) => [r.id, r.revokedAt === null])).toEqual([
    [a.id, false],
    [b.id, true],
  ]);
  expect(Object.keys(json[0]!).sort()).toEqual(['accessKeyId', 'createdAt', 'expiresAt', 'id', 'label', 'lastUsedAt', 'revokedAt', 'role', 'scope']);

  const unknown = await cli('revoke', 'ak_ffffffffffffffff');
  expect(unknown.code).toBe(1);
  expect(unknown.stdout).toBe('');
  expect(unknown.stderr).toBe("api-key: no API key with id 'ak_ffffffffffffffff'\n");
});

test('scopes: generate --scope, scope --add/--remove/--all-keys, shown by list; admin keys have none', async () => {
  // In process (the same `run` the bin calls): nine commands, without nine tsx start-ups.
  const cli = async (...args: string[]): Promise<Result> => {
    let stdout = '';
    let stderr = '';
    const code = await run(args, {
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      env: { KMSGATE_DATA_DIR: dataDir },
    });
    return { code, stdout, stderr };
  };
  const keyId = '0b6e5a3e-2f4f-4c41-9d6e-6e4e1d1f2a3b';
  const k = JSON.parse((await cli('generate', '--label', 'agent', '--scope', 'alias/trader', '--scope', keyId, '--json')).stdout) as Record<string, string>;
  expect((await cli('scope', k.id!, '--json')).stdout).toBe(`${JSON.stringify([keyId, 'alias/trader'].sort())}\n`);

  expect((await cli('scope', k.id!, '--remove', 'alias/trader', '--add', 'alias/hedger')).stdout).toBe(
    `${k.id}: ${[keyId, 'alias/hedger'].sort().join(', ')}\n`,
  );
  const emptied = await cli('scope', k.id!, '--remove', 'alias/hedger', '--remove', keyId);
  expect(emptied.stdout).toBe(`${k.id}: no key (its scope is empty)\n`);
  expect((await cli('scope', k.id!, '--all-keys')).stdout).toBe(`${k.id}: every key\n`);

  const unscoped = JSON.parse((await cli('generate', '--label', 'legacy', '--json')).stdout) as Record<string, string>;
  const listed = JSON.parse((await cli('list', '--json')).stdout) as { id: string; scope: string[] | null }[];
  expect(listed.map((r) => [r.id, r.scope])).toEqual([
    [k.id, null],
    [unscoped.id, null],
  ]);

  const adminScoped = await cli('generate', '--label', 'ops', '--role', 'admin', '--scope', 'alias/x');
  expect(adminScoped.code).toBe(1);
  expect(adminScoped.stderr).toContain('only signer keys have a scope');
  const bad = await cli('generate', '--label', 'x', '--scope', 'trader');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('scope: "trader" must be a key id (lower-case UUID) or an alias name (alias/…)');
  expect((await cli('scope', 'ak_ffffffffffffffff')).code).toBe(1);
});

test('list on an empty store, and revoke without a readable credential.key', async () => {
  const empty = await cli('list');
  expect(empty).toEqual({ code: 0, stdout: 'no API keys\n', stderr: '' });
  const k = JSON.parse((await cli('generate', '--label', 'x', '--json')).stdout) as Record<string, string>;
  rmSync(join(dataDir, 'credential.key'));
  expect((await cli('revoke', k.id!)).code).toBe(0);
});

test('`npm run -s api-key -- generate --json` keeps stdout to the JSON alone', async () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = await exec(npm, ['run', '-s', 'api-key', '--', 'generate', '--label', 'via npm', '--json']);
  expect(r.code).toBe(0);
  const k = JSON.parse(r.stdout) as { apiKey: string };
  // Same data dir resolution as the server: the key landed in $KMSGATE_DATA_DIR/kms.db.
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    expect(new ApiKeyStore(db).findByApiKey(k.apiKey)).toMatchObject({ label: 'via npm' });
  } finally {
    db.close();
  }
});

test('generate --expires-in: the expiry is stored, printed once and listed; a bad duration exits 2 and creates nothing', async () => {
  const r = await cli('generate', '--label', 'temp', '--expires-in', '30d', '--json');
  expect(r.code).toBe(0);
  const k = JSON.parse(r.stdout) as { id: string; createdAt: string; expiresAt: string };
  expect(Date.parse(k.expiresAt) - Date.parse(k.createdAt)).toBe(30 * 86_400_000);
  expect(r.stderr).toContain(`expires ${k.expiresAt})`);
  const listed = await cli('list');
  expect(listed.stdout.split('\n')[1]).toContain(`  ${k.expiresAt}  `);
  expect((JSON.parse((await cli('list', '--json')).stdout) as { expiresAt: string }[])[0]!.expiresAt).toBe(k.expiresAt);

  const bad = await cli('generate', '--label', 'x', '--expires-in', '30x');
  expect(bad).toEqual({
    code: 2,
    stdout: '',
    stderr: 'api-key: --expires-in must be a whole number of s, m, h or d (90s, 15m, 12h, 30d), at most 3650d; got "30x"\n',
  });
  // In process for the rest: the same `run` the bin calls.
  for (const text of ['0d', '-1d', '1.5h', '30', 'd', '3651d', '1w', ' 1d', '99999999999s']) {
    let stderr = '';
    const code = await run(['generate', '--label', 'x', '--expires-in', text], {
      stdout: () => undefined,
      stderr: (s) => {
        stderr += s;
      },
      env: { KMSGATE_DATA_DIR: dataDir },
    });
    expect([text, code, stderr]).toEqual([
      text,
      2,
      `api-key: --expires-in must be a whole number of s, m, h or d (90s, 15m, 12h, 30d), at most 3650d; got ${JSON.stringify(text)}\n`,
    ]);
  }
  const ok = await run(['generate', '--label', 'edge', '--expires-in', '3650d', '--json'], {
    stdout: () => undefined,
    stderr: () => undefined,
    env: { KMSGATE_DATA_DIR: dataDir },
  });
  expect(ok).toBe(0);
  expect((JSON.parse((await cli('list', '--json')).stdout) as unknown[]).length).toBe(2);
});
