import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openGatewayStore, type StoreSpec } from '@kmsgate/store-open';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { ROOT, kmsgate, type CliResult } from './helpers/cli';

/**
 * The state-changing commands as real processes on a PostgreSQL store (store.url): what one host's
 * CLI writes is what every gateway on that database reads. Each command's SQLite behaviour has its
 * own suite; this one checks they reach PostgreSQL through the configuration, the password from its
 * file and never printed.
 */
let server: TestServer;
let dir: string;
let dataDir: string;
let configPath: string;
let spec: StoreSpec;
let password: string;

beforeAll(async () => {
  server = await testServer();
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-pg-'));
  dataDir = join(dir, 'data');
  const url = new URL(await server.createDatabase());
  // The configuration never holds the password: it goes to a file, as an operator's would.
  password = decodeURIComponent(url.password);
  url.password = '';
  const passwordFile = join(dir, 'pg.password');
  writeFileSync(passwordFile, `${password}\n`);
  chmodSync(passwordFile, 0o600);
  configPath = join(dir, 'kmsgate.yaml');
  const store = ['store:', `  url: ${url.toString()}`, ...(password ? [`  passwordFile: ${passwordFile}`] : []), '  maxConnections: 2'];
  writeFileSync(configPath, ['backends:', '  - id: yubihsm', '    type: yubihsm', '    embedded: true', ...store, ''].join('\n'));
  spec = { url: url.toString(), ...(password ? { password } : {}) };
  // A new deployment: `kmsgate init` makes the schema and credential.key (every other command refuses an empty database).
  expect(await cli('init')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created kmsgate's schema /) });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<CliResult> {
  const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir, KMSGATE_CONFIG: '', KMS_DB_PATH: '' }, '--config', configPath, ...args);
  // Not at all, unless it is also the user's name (as for CI's role); never in a URL.
  for (const text of [r.stdout, r.stderr]) {
    if (password) expect(text).not.toContain(`:${encodeURIComponent(password)}@`);
    if (password && password !== new URL(spec.url!).username) expect(text).not.toContain(password);
  }
  return r;
}

/** The database as a gateway sees it. */
async function onDatabase<T>(f: (store: Awaited<ReturnType<typeof openGatewayStore>>) => Promise<T>): Promise<T> {
  const store = await openGatewayStore(spec, { KMSGATE_DATA_DIR: dataDir });
  try {
    await store.refresh();
    return await f(store);
  } finally {
    await store.close();
  }
}

it('api-key generate, scope and revoke act on PostgreSQL: a gateway on the database finds the key, then refuses it', async () => {
  const generated = await cli('api-key', 'generate', '--label', 'ops', '--role', 'signer', '--json');
  expect(generated.code).toBe(0);
  const key = JSON.parse(generated.stdout) as { id: string; apiKey: string; accessKeyId: string };
  await onDatabase(async (store) => {
    expect(store.apiKeys.findByApiKey(key.apiKey)).toMatchObject({ apiKeyId: key.id, role: 'signer' });
  });
  expect(await cli('api-key', 'scope', key.id, '--add', 'alias/payments')).toMatchObject({ code: 0, stdout: `${key.id}: alias/payments\n` });
  const listed = JSON.parse((await cli('api-key', 'list', '--json')).stdout) as { id: string; revokedAt: string | null; scope: string[] }[];
  expect(listed).toEqual([expect.objectContaining({ id: key.id, revokedAt: null, scope: ['alias/payments'] })]);

  expect(await cli('api-key', 'revoke', key.id)).toMatchObject({ code: 0, stdout: `revoked ${key.id} (ops)\n` });
  await onDatabase(async (store) => {
    expect(store.apiKeys.findByApiKey(key.apiKey)).toBeUndefined();
  });
  expect(await cli('api-key', 'revoke', 'ak_nosuchkey')).toMatchObject({ code: 1 });
});

it('kill-switch on/off and policy put/delete write to PostgreSQL, each in the one audit chain, which audit verify checks; keys list reads its keys', async () => {
  expect(await cli('kill-switch', 'on', '--reason', 'drill')).toMatchObject({ code: 0, stdout: 'the global kill switch is ENGAGED\n' });
  await onDatabase(async (store) => {
    expect(store.policyState.killSwitchesFor('any').global).toMatchObject({ engagedBy: 'cli', reason: 'drill' });
  });
  expect(await cli('kill-switch', 'off')).toMatchObject({ code: 0, stdout: 'the global kill switch is released\n' });
  expect(await cli('kill-switch', 'status')).toMatchObject({ code: 0, stdout: 'no kill switch is engaged\n' });

  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ chain: 'generic', rateLimits: { perMinute: 5 } }));
  expect(await cli('policy', 'put', 'alias/payments', '--file', policy)).toMatchObject({ code: 0 });
  await onDatabase(async (store) => {
    expect(store.policyState.runtimePoliciesFor(['alias/payments'])).toEqual([expect.objectContaining({ selector: 'alias/payments', updatedBy: 'cli' })]);
  });
  expect(JSON.parse((await cli('policy', 'list', '--json')).stdout)).toEqual([expect.objectContaining({ selector: 'alias/payments' })]);

  const keyId = '8f1a2c3e-0000-4000-8000-000000000001';
  await onDatabase(async (store) => {
    await store.keys.insertKey({
      keyId,
      keySpec: 'ECC_NIST_P256',
      keyUsage: 'SIGN_VERIFY',
      keyState: 'Enabled',
      description: '',
      createdAt: new Date('2026-12-05T00:00:00Z'),
      origin: 'AWS_KMS',
      backendId: 'yubihsm',
      handle: '1:7',
      publicKey: new Uint8Array([0x30]),
    });
    await store.keys.insertAlias('alias/payments', keyId, new Date(), 100);
  });
  const keys = await cli('keys', 'list', '--json');
  expect(keys.code).toBe(0);
  expect(JSON.parse(keys.stdout)).toEqual([expect.objectContaining({ keyId, aliases: ['alias/payments'], keyState: 'Enabled', backend: 'yubihsm' })]);
  expect(await cli('kill-switch', 'on', '--key', 'alias/payments')).toMatchObject({ code: 0, stdout: `the kill switch of key ${keyId} is ENGAGED\n` });

  // Each change is in the one audit chain on the database, and it verifies.
  const operations = await onDatabase(async (store) => (await store.audit.tail(100)).map((r) => r.operation));
  expect(operations).toEqual(['SetKillSwitch', 'SetKillSwitch', 'PutSigningPolicy', 'SetKillSwitch']);
  const verified = await cli('audit', 'verify', '--json');
  expect(verified.code).toBe(0);
  expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, chain: { ok: true, count: 4 } });
});

it('a database migrated by a newer kmsgate: refused (exit 2, one line), nothing written', async () => {
  const url = new URL(await server.createDatabase());
  const newer: StoreSpec = { url: url.toString() };
  await (await openGatewayStore(newer, { KMSGATE_DATA_DIR: dataDir }, { create: true })).close();
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query('UPDATE schema_version SET version = version + 1');
  await admin.end();
  const path = join(dir, 'newer.yaml');
  const bare = new URL(url);
  bare.password = '';
  writeFileSync(path, `backends: [{ id: yubihsm, type: yubihsm, embedded: true }]\nstore:\n  url: ${bare.toString()}\n  passwordEnv: PG_PW\n`);
  const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir, PG_PW: decodeURIComponent(url.password) || 'unused' }, '--config', path, 'kill-switch', 'on');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/migrated by a newer kmsgate \(schema version \d+; this one knows up to \d+\)/);
  expect(r.code).toBe(2);
});

it('an unreachable database: exit 1, one line saying so, nothing created', async () => {
  const path = join(dir, 'unreachable.yaml');
  writeFileSync(path, 'backends: [{ id: yubihsm, type: yubihsm, embedded: true }]\nstore:\n  url: postgres://kmsgate@127.0.0.1:1/kmsgate\n');
  const fresh = join(dir, 'fresh');
  const r = await kmsgate({ KMSGATE_DATA_DIR: fresh }, '--config', path, 'api-key', 'list');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/PostgreSQL did not answer/);
  expect(r.code).toBe(1);
  expect(existsSync(fresh)).toBe(false);
});

it('an API key revoked by the CLI is refused by a running gateway on the database, without a restart', async () => {
  // Its own data dir (simulators) with the CLI's credential.key: as a gateway on another host.
  const gatewayDir = join(dir, 'gateway');
  mkdirSync(gatewayDir, { mode: 0o700 });
  copyFileSync(join(dataDir, 'credential.key'), join(gatewayDir, 'credential.key'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps', 'server', 'src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, KMSGATE_CONFIG: configPath, KMSGATE_DATA_DIR: gatewayDir, PORT: '0', KMS_DB_PATH: '', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
      const line = log.split('\n').find((l) => l.includes('"kmsgate listening"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`the gateway exited (${code}): ${log}`)));
  });
  try {
    const key = JSON.parse((await cli('api-key', 'generate', '--label', 'ci', '--role', 'admin', '--json')).stdout) as { id: string; apiKey: string };
    const listKeys = () =>
      fetch(`${url}/`, {
        method: 'POST',
        headers: { 'X-Amz-Target': 'TrentService.ListKeys', 'Content-Type': 'application/x-amz-json-1.1', 'x-api-key': key.apiKey },
        body: '{}',
      }).then((r) => r.status);
    // Generated on another process: the gateway sees it once its view follows the database (polled, no sleep measured).
    while ((await listKeys()) !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await cli('api-key', 'revoke', key.id)).toMatchObject({ code: 0 });
    let status = await listKeys();
    while (status === 200) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await listKeys();
    }
    expect(status).toBe(400);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
