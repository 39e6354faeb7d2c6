import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ApiKeyStore, loadOrCreateSealKey, openDb } from '@kmsgate/store';
import { ROOT, kmsgate, type CliResult } from './helpers/cli';

/**
 * One way of finding the data dir for every command: the real `kmsgate` and `api-key` processes
 * against a missing store, a foreign one (not SQLite, someone else's SQLite, a newer schema, a data
 * dir that is a file) and one whose credential.key is elsewhere. Each: exit 2, one line naming the
 * path, and not one byte or file changed. `kmsgate init` is the way to create a store.
 */
const API_KEY_BIN = join(ROOT, 'node_modules', '.bin', 'api-key');

function apiKey(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((res) => {
    execFile(API_KEY_BIN, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-datadir-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root` with the SHA-256 of its bytes: what "nothing changed" compares. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(root.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** Commands of both CLIs that read or write the store. */
const COMMANDS: readonly [string, (env: NodeJS.ProcessEnv) => Promise<CliResult>][] = [
  ['api-key generate', (env) => apiKey(env, 'generate', '--label', 'x')],
  ['api-key list', (env) => apiKey(env, 'list')],
  ['kmsgate api-key revoke', (env) => kmsgate(env, 'api-key', 'revoke', 'ak_0000000000000000')],
  ['kmsgate kill-switch on', (env) => kmsgate(env, 'kill-switch', 'on')],
  ['kmsgate audit tail', (env) => kmsgate(env, 'audit', 'tail')],
  ['kmsgate backup', (env) => kmsgate(env, 'backup', '--out', join(dir, 'backup'))],
];

function expectRefused(r: CliResult, prog: string, line: string): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`${prog}: ${line}\n`);
}

describe.each(COMMANDS)('%s', (name, cmd) => {
  // `kmsgate api-key …` is the api-key CLI, messages and all.
  const prog = name.includes('api-key') ? 'api-key' : 'kmsgate';

  it('refuses a data dir without a store, exit 2 naming the path, and creates nothing', async () => {
    const dataDir = join(dir, 'elsewhere', 'data');
    expectRefused(
      await cmd({ KMSGATE_DATA_DIR: dataDir, KMS_DB_PATH: '' }),
      prog,
      `no kmsgate store at ${join(dataDir, 'kms.db')}: set KMSGATE_DATA_DIR (or KMS_DB_PATH) as for the server, or create one with \`kmsgate init\``,
    );
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
  });

  it('refuses a kms.db that is not an SQLite database, and changes nothing', async () => {
    writeFileSync(join(dir, 'kms.db'), 'these are my notes\n');
    const before = snapshot(dir);
    expectRefused(await cmd({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: '' }), prog, `${join(dir, 'kms.db')} is not a kmsgate store (not an SQLite database)`);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('foreign stores, with one command each', () => {
  it("refuses another application's SQLite database (KMS_DB_PATH), and changes nothing", async () => {
    const path = join(dir, 'app.sqlite');
    const other = new Database(path);
    other.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann');");
    other.close();
    const before = snapshot(dir);
    expectRefused(
      await kmsgate({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: path }, 'policy', 'list'),
      'kmsgate',
      `${path} is not a kmsgate store (an SQLite database without kmsgate's tables)`,
    );
    expectRefused(
      await apiKey({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: path }, 'generate', '--label', 'x'),
      'api-key',
      `${path} is not a kmsgate store (an SQLite database without kmsgate's tables)`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a store of a newer kmsgate (a schema this one does not know), and changes nothing', async () => {
    const path = join(dir, 'kms.db');
    openDb(path).close();
    const db = new Database(path);
    const known = db.pragma('user_version', { simple: true }) as number;
    db.pragma(`user_version = ${known + 5}`);
    db.close();
    const before = snapshot(dir);
    expectRefused(
      await kmsgate({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: '' }, 'kill-switch', 'status'),
      'kmsgate',
      `${path} was written by a newer kmsgate (schema version ${known + 5}; this one knows up to ${known})`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a data dir that is a file', async () => {
    const file = join(dir, 'data');
    writeFileSync(file, 'x');
    expectRefused(await apiKey({ KMSGATE_DATA_DIR: file, KMS_DB_PATH: '' }, 'list'), 'api-key', `the data dir ${file} is not a directory`);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('api-key generate refuses a store that holds API keys when their credential.key is not in the data dir (KMS_DB_PATH set, KMSGATE_DATA_DIR not)', async () => {
    const server = join(dir, 'server');
    const db = openDb(join(server, 'kms.db'));
    new ApiKeyStore(db, loadOrCreateSealKey(server)).generate({ label: 'first', role: 'admin' });
    db.close();
    const wrongDataDir = join(dir, 'cwd-data');
    mkdirSync(wrongDataDir);
    const before = snapshot(dir);
    expectRefused(
      await apiKey({ KMSGATE_DATA_DIR: wrongDataDir, KMS_DB_PATH: join(server, 'kms.db') }, 'generate', '--label', 'second'),
      'api-key',
      `no credential.key in ${wrongDataDir}, but the store holds 1 API key(s) whose SigV4 secrets are sealed under one: put it back, or set KMSGATE_DATA_DIR to the data dir that has it`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('kmsgate restore refuses to put a backup in place of a foreign kms.db (a missing one is what it restores into)', async () => {
    writeFileSync(join(dir, 'kms.db'), 'these are my notes\n');
    const before = snapshot(dir);
    expectRefused(
      await kmsgate({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: '' }, 'restore', join(dir, 'no-backup-here')),
      'kmsgate',
      `${join(dir, 'kms.db')} is not a kmsgate store (not an SQLite database)`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('kmsgate serve refuses a foreign store with exit 2 (the gateway creates only a missing one)', async () => {
    writeFileSync(join(dir, 'kms.db'), 'not a database');
    const r = await kmsgate({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: '', KMSGATE_CONFIG: '', PORT: '0' }, 'serve');
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(`${join(dir, 'kms.db')} is not a kmsgate store (not an SQLite database)`);
    expect(readFileSync(join(dir, 'kms.db'), 'utf8')).toBe('not a database');
  });
});

describe('kmsgate init', () => {
  it('creates the store (schema, installation id, credential.key) where the commands then find it; a second run changes nothing', async () => {
    const dataDir = join(dir, 'new', 'data');
    const env = { KMSGATE_DATA_DIR: dataDir, KMS_DB_PATH: '' };
    const made = await kmsgate(env, 'init');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`^created a kmsgate store at ${join(dataDir, 'kms.db')} \\(installation [0-9a-f]{32}\\)\\n$`));
    expect(readdirSync(dataDir).sort()).toEqual(['credential.key', 'kms.db']);

    const k = await apiKey(env, 'generate', '--label', 'first', '--role', 'admin', '--json');
    expect(k.code).toBe(0);
    const before = snapshot(dataDir);
    const again = await kmsgate(env, 'init');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `a kmsgate store is already at ${join(dataDir, 'kms.db')} (installation ${made.stdout.match(/[0-9a-f]{32}/)![0]}); nothing changed\n`,
    );
    expect(snapshot(dataDir)).toEqual(before);
  });

  it('refuses a foreign database too', async () => {
    writeFileSync(join(dir, 'kms.db'), 'these are my notes\n');
    expectRefused(
      await kmsgate({ KMSGATE_DATA_DIR: dir, KMS_DB_PATH: '' }, 'init'),
      'kmsgate',
      `${join(dir, 'kms.db')} is not a kmsgate store (not an SQLite database)`,
    );
    expect(readFileSync(join(dir, 'kms.db'), 'utf8')).toBe('these are my notes\n');
  });
});
