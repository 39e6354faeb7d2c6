import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { openPgGatewayStore } from '@kmsgate/store-pg';
import { testServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { runMain, spawnMain } from './helpers/main-process';

/** The real entry point with `store.url` (docs/configuration.md, "store"). */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-store-url-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('a PostgreSQL store.url the gateway cannot reach: one line saying so, the password never printed, exit 1, nothing created', async () => {
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
  expect(stderr).toMatch(/^kmsgate failed to start: PostgreSQL did not answer \(migrate\): /);
  expect(stderr).not.toContain(password);
  expect(status).toBe(1);
  expect(existsSync(join(dataDir, 'kms.db'))).toBe(false);
  expect(existsSync(join(dataDir, 'credential.key'))).toBe(false);
});

it('a reachable PostgreSQL store.url: the gateway keeps everything in that database; a key made and used through it is there, with its audit records in the shared chain', async () => {
  const server = await testServer();
  const child: { process?: ChildProcess } = {};
  try {
    const url = new URL(await server.createDatabase());
    const passwordFile = join(dir, 'pg-reachable.password');
    writeFileSync(passwordFile, `${decodeURIComponent(url.password)}\n`, { mode: 0o600 });
    const withPassword = url.toString();
    url.password = '';
    const dataDir = join(dir, 'pg-data');
    // An admin key in the database before the gateway starts, sealed under the data dir's credential.key.
    const setup = await openPgGatewayStore(withPassword, { dataDir, create: true });
    const admin = await setup.apiKeys.generate({ label: 'admin', role: 'admin' });
    await setup.close();
    const config = join(dir, 'kmsgate-pg.yaml');
    writeFileSync(
      config,
      [
        'backends:',
        '  - id: yubihsm',
        '    type: yubihsm',
        '    embedded: true',
        'store:',
        `  url: ${url.toString()}`,
        `  passwordFile: ${passwordFile}`,
        'audit:',
        '  gatewayName: eu-1',
        '',
      ].join('\n'),
    );
    child.process = spawnMain({ KMSGATE_CONFIG: config, KMSGATE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', KMS_DB_PATH: '' });
    const lines: { msg: string; url?: string; store?: string }[] = [];
    let buffered = '';
    child.process.stderr!.on('data', (c: Buffer) => {
      buffered += c.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as { msg: string });
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    const exited = new Promise<number | null>((resolve) => child.process!.on('exit', (code) => resolve(code)));
    while (!lines.some((l) => l.msg === 'kmsgate listening') && child.process.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    const listening = lines.find((l) => l.msg === 'kmsgate listening');
    expect(listening?.store).toBe(url.toString());
    const call = async (target: string, body: unknown) => {
      const res = await fetch(`${listening!.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}`, 'x-api-key': admin.apiKey },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };
    const created = await call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(created.status).toBe(200);
    const keyId = created.json.KeyMetadata.KeyId as string;
    const signed = await call('Sign', { KeyId: keyId, Message: Buffer.from('on PostgreSQL').toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(signed.status).toBe(200);
    child.process.kill('SIGTERM');
    expect(await exited).toBe(0);
    child.process = undefined;
    expect(existsSync(join(dataDir, 'kms.db'))).toBe(false);

    // Another gateway's data dir on this database: with another credential.key, or none, it refuses to start (exit 2, one line), nothing written.
    const env = { KMSGATE_CONFIG: config, PORT: '0', KMS_DB_PATH: '' };
    const wrong = join(dir, 'pg-wrong');
    mkdirSync(wrong, { mode: 0o700 });
    writeFileSync(join(wrong, 'credential.key'), randomBytes(32), { mode: 0o600 });
    const refused = await runMain({ ...env, KMSGATE_DATA_DIR: wrong });
    expect([refused.status, refused.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(refused.stderr).toContain(`${join(wrong, 'credential.key')} is not the credential.key database `);
    expect(readdirSync(wrong)).toEqual(['credential.key']);
    const none = join(dir, 'pg-none');
    const missing = await runMain({ ...env, KMSGATE_DATA_DIR: none });
    expect([missing.status, missing.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(missing.stderr).toContain(`no credential.key in ${none}, but database `);
    expect(existsSync(join(none, 'credential.key'))).toBe(false);

    const after = await openPgGatewayStore(withPassword, { dataDir });
    try {
      expect((await after.keys.listKeyIds('', 10)).keyIds).toEqual([keyId]);
      const records = await after.audit.records({ afterSeq: 0, keyId });
      // Under the name its configuration gives it (audit.gatewayName).
      expect(records.map((r) => [r.operation, r.decision, r.gateway])).toEqual([
        ['CreateKey', 'admin', 'eu-1'],
        ['Sign', 'accept', 'eu-1'],
      ]);
      expect(await after.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await after.close();
    }
  } finally {
    child.process?.kill('SIGKILL');
    await server.close();
  }
});
