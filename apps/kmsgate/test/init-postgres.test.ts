import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { kmsgate, type CliResult } from './helpers/cli';

/**
 * A new deployment on an empty PostgreSQL database, as processes: no command but `kmsgate init` (and
 * the gateway's start) creates kmsgate's schema there; init creates it and the data dir's
 * credential.key, which the database then records, and is idempotent; a data dir whose
 * credential.key is missing or another is refused, nothing written. audit.gatewayName names the
 * gateway in the shared audit chain.
 */
let server: TestServer;
let dir: string;
let password: string;

beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-init-pg-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A new, empty database and a configuration naming it (the password in a 0600 file); returns the configuration's path and the database's name. */
async function database(extra: string[] = []): Promise<{ config: string; name: string; url: string }> {
  const url = new URL(await server.createDatabase());
  password = decodeURIComponent(url.password);
  const withPassword = url.toString();
  url.password = '';
  const passwordFile = join(dir, `${url.pathname.slice(1)}.password`);
  writeFileSync(passwordFile, `${password}\n`);
  chmodSync(passwordFile, 0o600);
  const config = join(dir, `${url.pathname.slice(1)}.yaml`);
  const store = ['store:', `  url: ${url.toString()}`, ...(password ? [`  passwordFile: ${passwordFile}`] : [])];
  writeFileSync(config, ['backends:', '  - id: yubihsm', '    type: yubihsm', '    embedded: true', ...store, ...extra, ''].join('\n'));
  return { config, name: url.pathname.slice(1), url: withPassword };
}

async function cli(config: string, dataDir: string, ...args: string[]): Promise<CliResult> {
  const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir, KMSGATE_CONFIG: '', KMS_DB_PATH: '' }, '--config', config, ...args);
  if (password) expect(`${r.stdout}${r.stderr}`).not.toContain(`:${encodeURIComponent(password)}@`);
  return r;
}

/** Everything kmsgate keeps in the database that init could touch; a refusal or a second init leaves it as it was. */
async function snapshot(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (await client.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);
    const rows: Record<string, unknown> = {};
    for (const t of tables.filter((t) => ['schema_version', 'credential_key_check', 'api_keys', 'audit_log', 'audit_head', 'change_version'].includes(t)))
      rows[t] = (await client.query(`SELECT * FROM ${t}`)).rows;
    return { tables, rows };
  } finally {
    await client.end();
  }
}

function oneLine(r: CliResult, code: number, line: string | RegExp): void {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  // Prefixed by the program that refuses: kmsgate, or its api-key group (the api-key CLI's own).
  if (typeof line === 'string') expect(r.stderr).toMatch(new RegExp(`^(kmsgate|api-key): ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
  else expect(r.stderr).toMatch(line);
  expect(r.code).toBe(code);
}

it.each([
  ['api-key generate', ['api-key', 'generate', '--label', 'ops']],
  ['api-key list', ['api-key', 'list']],
  ['kill-switch on', ['kill-switch', 'on']],
  ['keys list', ['keys', 'list']],
  ['audit verify', ['audit', 'verify']],
  ['audit tail', ['audit', 'tail']],
])('%s on an empty database: exit 2, one line naming the database (never its URL), no schema created', async (_what, args) => {
  const { config, name, url } = await database();
  const dataDir = join(dir, 'data');
  oneLine(await cli(config, dataDir, ...args), 2, `no kmsgate schema in database "${name}"; run \`kmsgate init\` or start the gateway`);
  expect(await snapshot(url)).toEqual({ tables: [], rows: {} });
  expect(existsSync(dataDir)).toBe(false);
});

it('init on an empty database: the schema, credential.key (recorded in the database), and what to copy; run again, nothing changes; then the other commands work', async () => {
  const { config, name, url } = await database();
  const dataDir = join(dir, 'data');
  const key = join(dataDir, 'credential.key');
  const first = await cli(config, dataDir, 'init');
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect(first.stdout.split('\n')).toEqual([
    expect.stringMatching(new RegExp(`^created kmsgate's schema \\(version \\d+\\) in database "${name}"$`)),
    `created ${key} (mode 0600) and recorded it in database "${name}" as its gateways' credential.key`,
    `every other gateway (and kmsgate command) on this database needs this credential.key: copy ${key} into its data dir (KMSGATE_DATA_DIR), mode 0600, before it starts`,
    '',
  ]);
  expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  const written = readFileSync(key);
  const after = await snapshot(url);
  expect((after as { rows: { credential_key_check: unknown[] } }).rows.credential_key_check).toHaveLength(1);

  const again = await cli(config, dataDir, 'init');
  expect(again).toMatchObject({ code: 0, stderr: '' });
  expect(again.stdout).toMatch(
    new RegExp(`^kmsgate is already initialised in database "${name}" \\(schema version \\d+\\) and ${key} is its credential.key; nothing changed\\n$`),
  );
  expect(readFileSync(key)).toEqual(written);
  expect(readdirSync(dataDir)).toEqual(['credential.key']);
  expect(await snapshot(url)).toEqual(after);

  expect(await cli(config, dataDir, 'api-key', 'generate', '--label', 'ops', '--json')).toMatchObject({ code: 0 });
  expect(await cli(config, dataDir, 'kill-switch', 'on', '--reason', 'drill')).toMatchObject({ code: 0 });

  // A second gateway's data dir: refused without the file or with another one, accepted with a copy.
  const second = join(dir, 'second');
  const before = await snapshot(url);
  oneLine(
    await cli(config, second, 'init'),
    2,
    `no credential.key in ${second}, but database "${name}" records the one its gateways hold: copy credential.key (mode 0600) from a gateway already on this database: every gateway on one database must hold the same credential.key`,
  );
  expect(existsSync(second)).toBe(false);
  const other = join(dir, 'other');
  const wrong = randomBytes(32);
  expect(await cli(config, other, 'audit', 'verify')).toMatchObject({ code: 0 });
  expect(existsSync(other)).toBe(false);
  writeFileSync(join(dir, 'wrong.key'), wrong);
  for (const args of [['init'], ['api-key', 'generate', '--label', 'other']]) {
    rmSync(other, { recursive: true, force: true });
    mkdirSync(other, { mode: 0o700 });
    writeFileSync(join(other, 'credential.key'), wrong, { mode: 0o600 });
    oneLine(
      await cli(config, other, ...args),
      2,
      `${join(other, 'credential.key')} is not the credential.key database "${name}" records for its gateways: copy credential.key (mode 0600) from a gateway already on this database: every gateway on one database must hold the same credential.key`,
    );
    expect(readFileSync(join(other, 'credential.key'))).toEqual(wrong);
    expect(readdirSync(other)).toEqual(['credential.key']);
  }
  expect(await snapshot(url)).toEqual(before);
  mkdirSync(second, { mode: 0o700 });
  writeFileSync(join(second, 'credential.key'), written, { mode: 0o600 });
  expect(await cli(config, second, 'init')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^kmsgate is already initialised in database /) });
});

it('audit.gatewayName names the gateway in the shared chain: the CLI writes under it, audit tail prints it', async () => {
  const { config } = await database(['audit:', '  gatewayName: eu-1']);
  const dataDir = join(dir, 'data');
  expect(await cli(config, dataDir, 'init')).toMatchObject({ code: 0 });
  expect(await cli(config, dataDir, 'kill-switch', 'on', '--reason', 'drill')).toMatchObject({ code: 0 });
  const tail = await cli(config, dataDir, 'audit', 'tail');
  expect(tail.code).toBe(0);
  const [header, row] = tail.stdout.split('\n');
  expect(header!.split(/\s+/).slice(0, 4)).toEqual(['SEQ', 'AT', 'GATEWAY', 'DECISION']);
  expect(row!.split(/\s+/).slice(2, 4)).toEqual(['eu-1', 'admin']);
  expect(JSON.parse((await cli(config, dataDir, 'audit', 'tail', '--json')).stdout)).toMatchObject({ seq: 1, gateway: 'eu-1', operation: 'SetKillSwitch' });
  const shown = await cli(config, dataDir, 'audit', 'show', '1');
  expect(shown.code).toBe(0);
  expect(shown.stdout.split('\n').slice(0, 4)).toEqual(['seq: 1', expect.stringMatching(/^at: .*Z$/), 'gateway: eu-1', 'decision: admin']);
  // The mirror the CLI shares with the gateway holds this one gateway's records, and verifies.
  expect(await cli(config, dataDir, 'audit', 'verify', '--jsonl')).toMatchObject({ code: 0 });
});

it.each([
  ['a control character', '"eu\\u00071"', /audit\.gatewayName: must be 1-64 printable ASCII characters/],
  ['65 characters', 'x'.repeat(65), /audit\.gatewayName: must be 1-64 printable ASCII characters/],
  ['an empty name', '""', /audit\.gatewayName: must be 1-64 printable ASCII characters/],
  ['a space at the end', '"eu-1 "', /audit\.gatewayName: must be 1-64 printable ASCII characters/],
])('audit.gatewayName with %s: exit 2, one line, nothing written', async (_what, value, line) => {
  const { config, url } = await database(['audit:', `  gatewayName: ${value}`]);
  const dataDir = join(dir, 'data');
  for (const args of [['init'], ['audit', 'tail']]) oneLine(await cli(config, dataDir, ...args), 2, line);
  expect(await snapshot(url)).toEqual({ tables: [], rows: {} });
  expect(existsSync(dataDir)).toBe(false);
});

it('audit.gatewayName without store.url: exit 2, one line (the embedded SQLite store names no gateway)', async () => {
  const config = join(dir, 'sqlite.yaml');
  writeFileSync(config, 'backends: [{ id: yubihsm, type: yubihsm, embedded: true }]\naudit:\n  gatewayName: eu-1\n');
  const dataDir = join(dir, 'data');
  oneLine(await cli(config, dataDir, 'init'), 2, /audit\.gatewayName: only applies to PostgreSQL \(store\.url\)/);
  expect(existsSync(dataDir)).toBe(false);
});

it('init on a database migrated by a newer kmsgate: exit 2, one line, nothing written; on an unreachable one: exit 1, one line, no data dir', async () => {
  const { config, url } = await database();
  const dataDir = join(dir, 'data');
  expect(await cli(config, dataDir, 'init')).toMatchObject({ code: 0 });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('UPDATE schema_version SET version = version + 1');
  await admin.end();
  const before = await snapshot(url);
  const fresh = join(dir, 'fresh');
  oneLine(await cli(config, fresh, 'init'), 2, /^kmsgate: the database was migrated by a newer kmsgate \(schema version \d+; this one knows up to \d+\)\n$/);
  expect(await snapshot(url)).toEqual(before);
  expect(existsSync(fresh)).toBe(false);

  const unreachable = join(dir, 'unreachable.yaml');
  writeFileSync(unreachable, 'backends: [{ id: yubihsm, type: yubihsm, embedded: true }]\nstore:\n  url: postgres://kmsgate@127.0.0.1:1/kmsgate\n');
  oneLine(await cli(unreachable, fresh, 'init'), 1, /^kmsgate: PostgreSQL did not answer \(migrate\)/);
  expect(existsSync(fresh)).toBe(false);
});
