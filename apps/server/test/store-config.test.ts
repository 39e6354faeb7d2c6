import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { connectionUrl, describeStore } from '@kmsgate/store-open';
import { ConfigError, parseConfig, storeSpec } from '../src/config';

/** `store`: which database the gateway and the CLI open (docs/configuration.md, "store"). */
const backends = [{ id: 'y', type: 'yubihsm', embedded: true }];
const parse = (store: unknown, env: NodeJS.ProcessEnv = {}) => parseConfig({ backends, store }, 'test', env);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-store-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('without store (or store.url) the embedded SQLite store: nothing to open elsewhere', () => {
  expect(storeSpec(parseConfig({ backends }, 'test', {}))).toEqual({});
  expect(storeSpec(parse({}))).toEqual({});
  expect(describeStore({}, { KMSGATE_DATA_DIR: '/var/lib/kmsgate' })).toBe('/var/lib/kmsgate/kms.db');
});

it('a postgres:// or postgresql:// url with its options, the password read from its file', () => {
  const pw = join(dir, 'pg.password');
  writeFileSync(pw, 's3cret:/@%\n');
  chmodSync(pw, 0o600);
  for (const url of ['postgres://kmsgate@db.example:5432/kmsgate', 'postgresql://kmsgate@db.example/kmsgate?sslmode=require']) {
    const spec = storeSpec(parse({ url, passwordFile: pw, maxConnections: 20, statementTimeoutMs: 5000 }));
    expect(spec).toEqual({ url, password: 's3cret:/@%', maxConnections: 20, statementTimeoutMs: 5000 });
    expect(describeStore(spec, {})).not.toContain('s3cret');
  }
  expect(storeSpec(parse({ url: 'postgres://kmsgate@db/kmsgate', passwordEnv: 'PG_PW' }), { PG_PW: 'from-env' })).toMatchObject({ password: 'from-env' });
  // No password at all: the server trusts the peer, or the client's own ~/.pgpass / PGPASSWORD.
  expect(storeSpec(parse({ url: 'postgres://kmsgate@db/kmsgate' }))).toEqual({ url: 'postgres://kmsgate@db/kmsgate' });
});

it.each([
  ['not a URL', { url: 'kmsgate@db.example/kmsgate' }, 'store.url: must be a URL like postgres://kmsgate@db.example:5432/kmsgate'],
  [
    'another scheme',
    { url: 'mysql://kmsgate@db/kmsgate' },
    'store.url: must be a postgres:// or postgresql:// URL, not mysql:// (leave store.url out for the embedded SQLite store)',
  ],
  ['a file', { url: 'sqlite:///var/lib/kmsgate/kms.db' }, 'store.url: must be a postgres:// or postgresql:// URL, not sqlite://'],
  [
    'a password in the URL',
    { url: 'postgres://kmsgate:hunter2@db/kmsgate' },
    'store.url: must not hold a password: put it in the file store.passwordFile names (or the variable store.passwordEnv names)',
  ],
  ['no database', { url: 'postgres://kmsgate@db:5432' }, 'store.url: must name the database (…/kmsgate)'],
  ['an unknown option', { url: 'postgres://kmsgate@db/kmsgate', poolSize: 4 }, "store: Unrecognized key(s) in object: 'poolSize'"],
  ['a pool of none', { url: 'postgres://kmsgate@db/kmsgate', maxConnections: 0 }, 'store.maxConnections: Number must be greater than or equal to 1'],
  [
    'both password sources',
    { url: 'postgres://kmsgate@db/kmsgate', passwordFile: '/p', passwordEnv: 'PG_PW' },
    'store: set exactly one of passwordFile or passwordEnv',
  ],
  [
    'PostgreSQL options without store.url',
    { maxConnections: 4, passwordFile: '/p' },
    'store.passwordFile: only applies to PostgreSQL (store.url); the embedded SQLite store has none; store.maxConnections: only applies',
  ],
])('refuses %s, naming the field and never echoing the URL', (_what, store, message) => {
  let thrown: unknown;
  try {
    parse(store);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as Error).message).toContain(`invalid configuration in test: ${message}`);
  expect((thrown as Error).message).not.toContain('hunter2');
});

it('store.url together with KMS_DB_PATH (the SQLite file) is refused: one of them would be ignored', () => {
  expect(() => parse({ url: 'postgres://kmsgate@db/kmsgate' }, { KMS_DB_PATH: '/srv/kms.db' })).toThrow(
    new ConfigError('invalid configuration in test: store.url chooses PostgreSQL, but KMS_DB_PATH names an SQLite store: unset one of them'),
  );
  expect(parse({}, { KMS_DB_PATH: '/srv/kms.db' }).store).toEqual({});
});

it('the password file follows the device passwords rules: it must exist and only its owner may read it', () => {
  const open = join(dir, 'open.password');
  writeFileSync(open, 'secret\n');
  chmodSync(open, 0o644);
  expect(() => storeSpec(parse({ url: 'postgres://kmsgate@db/kmsgate', passwordFile: open }))).toThrow(
    new ConfigError(`store: passwordFile ${open} is readable by group or others (mode 644); chmod 600 it`),
  );
  const missing = join(dir, 'missing.password');
  expect(() => storeSpec(parse({ url: 'postgres://kmsgate@db/kmsgate', passwordFile: missing }))).toThrow(
    new ConfigError(`store: passwordFile ${missing} does not exist`),
  );
  expect(() => storeSpec(parse({ url: 'postgres://kmsgate@db/kmsgate', passwordEnv: 'PG_PW' }), {})).toThrow(
    new ConfigError('store: environment variable PG_PW is not set'),
  );
});

it('the password reaches the driver exactly as in its file, whatever it holds', () => {
  for (const password of ['a%41b', 's3cret:/@?#& x', 'ünïcode']) {
    expect(parseConnectionString(connectionUrl({ url: 'postgres://kmsgate@db:5432/kmsgate', password })).password).toBe(password);
  }
  expect(parseConnectionString(connectionUrl({ url: 'postgres://kmsgate@db:5432/kmsgate' })).password).toBeFalsy();
});
