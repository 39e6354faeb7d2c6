import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { run as runCli } from '@kmsgate/cli';
import { REPO_ROOT } from '../src/gateway';
import { startTestGateway, type Credentials, type TestGateway } from './helpers/gateway';
import { admin, auditFor, createKeyWithAlias, deviceRequests, sign } from './helpers/signing';

/**
 * The gates every key has (kill switch, API-key scope) and the chain-independent policy rules
 * (rate limits, time windows, runtime policies through the admin API, ambiguity), through the real
 * server. Keys here are P-256 or secp256k1 with `chain: generic` policies or none at all.
 */
const digest = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());
const signDigest = (t: TestGateway, keyId: string, s: string, creds?: Credentials) =>
  sign(t, keyId, digest(s), { messageType: 'DIGEST', ...(creds ? { creds } : {}) });

let t: TestGateway;
let plainKey: string;
let otherKey: string;

beforeAll(async () => {
  t = await startTestGateway({
    policies: {
      'alias/rate-limited': { chain: 'generic', rateLimits: { perMinute: 3 } },
      'alias/twice-a': { chain: 'generic' },
      'alias/twice-b': { chain: 'generic' },
      'alias/wrong-chain': { chain: 'solana', programs: ['11111111111111111111111111111111'] },
      'alias/baseline': { chain: 'generic', rateLimits: { perMinute: 1 } },
    },
  });
  plainKey = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/plain');
  otherKey = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/other');
});
afterAll(async () => {
  await t.stop();
});

describe('API-key scopes', () => {
  let scoped: Credentials;
  beforeAll(() => {
    const k = t.apiKeys.generate({ label: 'scoped agent', role: 'signer', scope: ['alias/plain'] });
    scoped = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  });
  const as = (creds: Credentials, op: string, body: unknown) => t.call(op, body, { 'x-api-key': creds.apiKey });

  it('a scoped signer uses its key by alias or by key id, for every key operation', async () => {
    expect((await signDigest(t, 'alias/plain', 'x', scoped)).status).toBe(200);
    expect((await signDigest(t, plainKey, 'x', scoped)).status).toBe(200);
    for (const op of ['GetPublicKey', 'DescribeKey']) expect((await as(scoped, op, { KeyId: plainKey })).status).toBe(200);
  });

  it('and is refused every other key with AccessDeniedException KEY_NOT_IN_SCOPE, before anything about the key is told', async () => {
    const before = deviceRequests(t);
    for (const [op, body] of [
      ['Sign', { KeyId: otherKey, Message: Buffer.from(digest('x')).toString('base64'), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }],
      ['Verify', { KeyId: 'alias/other', Message: 'AA==', Signature: 'AA==', SigningAlgorithm: 'ECDSA_SHA_256' }],
      ['GetPublicKey', { KeyId: otherKey }],
      ['DescribeKey', { KeyId: 'alias/other' }],
      ['DeriveAddress', { KeyId: otherKey, Chain: 'ethereum' }],
      ['GetSigningBudget', { KeyId: 'alias/other' }],
    ] as const) {
      const r = await as(scoped, op, body);
      expect([op, r.json]).toEqual([
        op,
        { __type: 'AccessDeniedException', message: `Denied by kmsgate (KEY_NOT_IN_SCOPE): key ${otherKey} is not in the API key's scope` },
      ]);
    }
    expect(deviceRequests(t)).toBe(before);
    expect(auditFor(t, otherKey).at(-1)).toEqual({ decision: 'deny', gate: 'auth', reason: 'KEY_NOT_IN_SCOPE' });
  });

  it('the api-key CLI in another process narrows a scope and revokes a key the gateway has just served (and cached): effective on the next request', async () => {
    const k = t.apiKeys.generate({ label: 'cli-changed', role: 'signer' });
    const creds = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    const apiKeyCli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(REPO_ROOT, 'apps', 'api-key', 'bin', 'api-key.cjs'), ...args],
          {
            cwd: REPO_ROOT,
            env: { ...process.env, KMSGATE_DATA_DIR: t.dataDir, KMS_DB_PATH: '' },
            encoding: 'utf8',
          },
          (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
        );
      });
    for (let i = 0; i < 2; i++) expect((await signDigest(t, otherKey, `cli${i}`, creds)).status).toBe(200);
    expect((await apiKeyCli('scope', k.id, '--add', 'alias/plain')).code).toBe(0);
    expect((await signDigest(t, otherKey, 'cli', creds)).error).toMatchObject({ reason: 'KEY_NOT_IN_SCOPE' });
    expect((await signDigest(t, plainKey, 'cli', creds)).status).toBe(200);
    expect((await apiKeyCli('revoke', k.id)).code).toBe(0);
    expect(
      (
        await as(creds, 'Sign', {
          KeyId: plainKey,
          Message: Buffer.from(digest('cli')).toString('base64'),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        })
      ).json,
    ).toEqual({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('removing the last scope entry leaves a signer that may use no key (never every key); --all-keys lifts it', async () => {
    const k = t.apiKeys.generate({ label: 'shrinking', role: 'signer', scope: ['alias/plain'] });
    const creds = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    expect(t.apiKeys.updateScope(k.id, { remove: ['alias/plain'] })).toEqual({ restricted: true, selectors: [] });
    expect((await signDigest(t, plainKey, 'y', creds)).error).toMatchObject({ reason: 'KEY_NOT_IN_SCOPE' });
    t.apiKeys.updateScope(k.id, { allKeys: true });
    expect((await signDigest(t, otherKey, 'y', creds)).status).toBe(200);
  });

  it('a signer generated without a scope may use every key, as before scopes existed', async () => {
    const unscoped = t.newKey('signer');
    expect((await signDigest(t, otherKey, 'z', unscoped)).status).toBe(200);
  });
});

describe('kill switch', () => {
  it('global, through the admin API: every Sign is refused at once (keys without a policy too); GetPublicKey still works', async () => {
    expect((await admin(t, 'PUT', '/admin/kill-switch', { engaged: true, reason: 'incident 42' })).json).toMatchObject({
      changed: true,
      global: { reason: 'incident 42' },
    });
    const before = deviceRequests(t);
    const out = await signDigest(t, plainKey, 'k');
    expect(out.error).toMatchObject({ type: 'AccessDeniedException', reason: 'KILL_SWITCH_GLOBAL' });
    expect(out.error!.message).toContain('incident 42');
    expect(deviceRequests(t)).toBe(before);
    expect((await t.call('GetPublicKey', { KeyId: plainKey })).status).toBe(200);
    expect((await admin(t, 'PUT', '/admin/kill-switch', { engaged: false })).json).toMatchObject({ changed: true, global: null });
    expect((await signDigest(t, plainKey, 'k')).status).toBe(200);
  });

  it('per key, named by alias, through the admin API: only that key stops', async () => {
    expect((await admin(t, 'PUT', '/admin/kill-switch', { engaged: true, key: 'alias/other' })).json.keys).toEqual([
      expect.objectContaining({ keyId: otherKey }),
    ]);
    expect((await signDigest(t, otherKey, 'k')).error).toMatchObject({ reason: 'KILL_SWITCH_KEY' });
    expect((await signDigest(t, plainKey, 'k')).status).toBe(200);
    await admin(t, 'PUT', '/admin/kill-switch', { engaged: false, key: otherKey });
    expect((await signDigest(t, otherKey, 'k')).status).toBe(200);
  });

  it('through `kmsgate kill-switch` in another process, on the running gateway, effective on the next request', async () => {
    type Result = { code: number; stdout: string; stderr: string };
    const env = { KMSGATE_DATA_DIR: t.dataDir };
    // The installed bin, in a process of its own…
    const process_ = (...args: string[]) =>
      new Promise<Result>((resolve) => {
        execFile(
          process.execPath,
          [join(REPO_ROOT, 'apps', 'kmsgate', 'bin', 'kmsgate.cjs'), ...args],
          {
            cwd: REPO_ROOT,
            env: { ...process.env, ...env, KMS_DB_PATH: '' },
            encoding: 'utf8',
          },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    // …and the same commands in this process (its own database connection), to spare a tsx start-up each.
    const inProcess = async (...args: string[]): Promise<Result> => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(args, {
        stdout: (s) => {
          stdout += s;
        },
        stderr: (s) => {
          stderr += s;
        },
        env,
      });
      return { code, stdout, stderr };
    };
    const on = await process_('kill-switch', 'on', '--key', 'alias/plain', '--reason', 'rotate');
    expect(on).toMatchObject({ code: 0, stdout: `the kill switch of key ${plainKey} is ENGAGED\n` });
    expect((await signDigest(t, plainKey, 'c')).error).toMatchObject({ reason: 'KILL_SWITCH_KEY' });
    expect((await inProcess('kill-switch', 'on')).code).toBe(0);
    expect((await signDigest(t, otherKey, 'c')).error).toMatchObject({ reason: 'KILL_SWITCH_GLOBAL' });
    const status = await inProcess('kill-switch', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ global: { engagedBy: 'cli' }, keys: [{ keyId: plainKey, reason: 'rotate' }] });
    expect((await inProcess('kill-switch', 'off')).code).toBe(0);
    expect((await process_('kill-switch', 'off', '--key', plainKey)).code).toBe(0);
    expect((await signDigest(t, plainKey, 'c')).status).toBe(200);
    expect(await inProcess('kill-switch', 'on', '--key', 'alias/nope')).toEqual({ code: 2, stdout: '', stderr: 'kmsgate: no alias alias/nope\n' });
    // Every change is in the audit log, from the CLI process and from the admin API alike.
    const changes = t.db.prepare("SELECT api_key_id, summary FROM audit_log WHERE operation = 'SetKillSwitch' AND decision = 'admin' ORDER BY seq").all() as {
      api_key_id: string | null;
      summary: string;
    }[];
    expect(changes.filter((c) => c.api_key_id === null)).toHaveLength(4);
    expect(changes.filter((c) => c.api_key_id === t.admin.id).length).toBeGreaterThanOrEqual(4);
  });
});

describe('policy rules that do not depend on a chain', () => {
  it('rate limit per minute: ThrottlingException RATE_LIMIT_PER_MINUTE on the fourth, no device call', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/rate-limited');
    for (const i of [1, 2, 3]) expect((await signDigest(t, id, `r${i}`)).status).toBe(200);
    const before = deviceRequests(t);
    expect((await signDigest(t, id, 'r4')).error).toMatchObject({ type: 'ThrottlingException', reason: 'RATE_LIMIT_PER_MINUTE' });
    expect(deviceRequests(t)).toBe(before);
    // A replay of an accepted request is not a new signature: it does not count, and is not refused.
    expect((await signDigest(t, id, 'r1')).status).toBe(200);
    expect(auditFor(t, id).map((r) => `${r.decision}${r.reason ? ':' + r.reason : ''}`)).toEqual([
      'accept',
      'accept',
      'accept',
      'deny:RATE_LIMIT_PER_MINUTE',
      'replay',
    ]);
  });

  it('two policies for one key in the same layer are ambiguous: POLICY_AMBIGUOUS', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/twice-a');
    await t.call('CreateAlias', { AliasName: 'alias/twice-b', TargetKeyId: id });
    expect((await signDigest(t, id, 'a')).error).toMatchObject({ reason: 'POLICY_AMBIGUOUS' });
  });

  it('DryRun runs the stateless rules and counts nothing', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/dry-run');
    await admin(t, 'PUT', '/admin/policies/alias/dry-run', { chain: 'generic', rateLimits: { perMinute: 1 } });
    const dry = () =>
      t.call('Sign', {
        KeyId: id,
        Message: Buffer.from(digest('d')).toString('base64'),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
        DryRun: true,
      });
    for (let i = 0; i < 3; i++) expect((await dry()).json.__type).toBe('DryRunOperationException');
    expect((await signDigest(t, id, 'd')).status).toBe(200);
    await admin(t, 'DELETE', '/admin/policies/alias/dry-run');
  });

  it('a chain policy on a key of another spec: POLICY_KEY_MISMATCH', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/wrong-chain');
    expect((await signDigest(t, id, 'a')).error).toMatchObject({ reason: 'POLICY_KEY_MISMATCH' });
  });
});

describe('DeriveAddress', () => {
  it("derives the address for the key's chain, with a Cosmos prefix; refuses another spec, a stray prefix, an unknown chain", async () => {
    const k1 = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/derive');
    const osmo = await t.call('DeriveAddress', { KeyId: 'alias/derive', Chain: 'cosmos', Prefix: 'osmo' });
    expect(osmo.json).toEqual({
      KeyId: expect.stringMatching(new RegExp(`:key/${k1}$`)),
      Chain: 'cosmos',
      Address: expect.stringMatching(/^osmo1[02-9ac-hj-np-z]{38}$/),
    });
    expect((await t.call('DeriveAddress', { KeyId: k1, Chain: 'ethereum' })).json.Address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect((await t.call('DeriveAddress', { KeyId: k1, Chain: 'solana' })).json).toMatchObject({ __type: 'InvalidKeyUsageException' });
    expect((await t.call('DeriveAddress', { KeyId: plainKey, Chain: 'ethereum' })).json).toMatchObject({ __type: 'InvalidKeyUsageException' });
    expect((await t.call('DeriveAddress', { KeyId: k1, Chain: 'ethereum', Prefix: 'osmo' })).json).toEqual({
      __type: 'ValidationException',
      message: 'Prefix applies to Chain cosmos only, not ethereum.',
    });
    expect((await t.call('DeriveAddress', { KeyId: k1, Chain: 'bitcoin' })).json.__type).toBe('ValidationException');
    expect((await t.call('DeriveAddress', { KeyId: k1, Chain: 'cosmos', Prefix: 'OSMO' })).json.__type).toBe('ValidationException');
  });
});

describe('runtime policies through the admin API', () => {
  it('PUT gives a key a policy at once (here: time windows), audited; DELETE takes it away again', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/runtime');
    expect((await signDigest(t, id, 'p1')).status).toBe(200);

    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const today = new Date().getUTCDay();
    // Whole days (UTC) three and four days away: now is outside every window.
    const put = await admin(t, 'PUT', `/admin/policies/${id}`, {
      chain: 'generic',
      timeWindows: [{ days: [days[(today + 3) % 7], days[(today + 4) % 7]], from: '00:00', to: '24:00' }],
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ selector: id, appliesTo: id, effective: 'runtime', config: null, runtime: { updatedBy: t.admin.id } });
    expect((await signDigest(t, id, 'p2')).error).toMatchObject({ reason: 'OUTSIDE_TIME_WINDOW' });
    // Today and tomorrow, whole days: inside.
    await admin(t, 'PUT', `/admin/policies/${id}`, {
      chain: 'generic',
      timeWindows: [{ days: [days[today], days[(today + 1) % 7]], from: '00:00', to: '24:00' }],
    });
    expect((await signDigest(t, id, 'p2')).status).toBe(200);

    expect((await admin(t, 'GET', '/admin/policies')).json.policies.map((p: { selector: string }) => p.selector)).toContain(id);
    expect((await admin(t, 'DELETE', `/admin/policies/${id}`)).json).toMatchObject({ effective: null, runtime: null });
    expect((await signDigest(t, id, 'p3')).status).toBe(200);
    expect((await admin(t, 'GET', `/admin/policies/${id}`)).status).toBe(400);

    const audited = t.db
      .prepare("SELECT operation FROM audit_log WHERE decision = 'admin' AND key_id = ? AND operation LIKE '%SigningPolicy' ORDER BY seq")
      .all(id);
    expect(audited).toEqual([{ operation: 'PutSigningPolicy' }, { operation: 'PutSigningPolicy' }, { operation: 'DeleteSigningPolicy' }]);
  });

  it("a runtime policy overrides the configuration's for the key, whichever of its names each is keyed by", async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/baseline');
    await t.call('CreateAlias', { AliasName: 'alias/runtime-name', TargetKeyId: id });
    // The configuration (alias/baseline): one signature a minute.
    expect((await signDigest(t, id, 'o1')).status).toBe(200);
    expect((await signDigest(t, id, 'o2')).error).toMatchObject({ reason: 'RATE_LIMIT_PER_MINUTE' });
    // A runtime policy under the key's other alias replaces it for this key.
    const put = await admin(t, 'PUT', '/admin/policies/alias/runtime-name', { chain: 'generic', rateLimits: { perMinute: 100 } });
    expect(put.json).toMatchObject({ selector: 'alias/runtime-name', appliesTo: id, effective: 'runtime' });
    expect((await signDigest(t, id, 'o3')).status).toBe(200);
    expect((await admin(t, 'GET', '/admin/policies/alias/baseline')).json).toMatchObject({
      effective: 'config',
      config: { chain: 'generic', rateLimits: { perMinute: 1 } },
    });
    // Deleting it restores the configuration's: the minute's signatures are already over its limit.
    await admin(t, 'DELETE', '/admin/policies/alias/runtime-name');
    expect((await signDigest(t, id, 'o4')).error).toMatchObject({ reason: 'RATE_LIMIT_PER_MINUTE' });
  });

  it('refuses an invalid policy naming the field, a bad selector, and a signer', async () => {
    const typo = await admin(t, 'PUT', '/admin/policies/alias/x', { chain: 'ethereum', chainIds: [1], caps: { native: { perTransacton: '1' } } });
    expect(typo.status).toBe(400);
    expect(typo.json.__type).toBe('ValidationException');
    expect(typo.json.message).toContain("caps.native: Unrecognized key(s) in object: 'perTransacton'");
    const zero = await admin(t, 'PUT', '/admin/policies/alias/x', { chain: 'ethereum', chainIds: [1], caps: { native: { perTransaction: '0' } } });
    expect(zero.json.message).toContain('caps.native.perTransaction: must be greater than zero');
    const number = await admin(t, 'PUT', '/admin/policies/alias/x', { chain: 'ethereum', chainIds: [1], caps: { native: { rolling24h: 1e18 } } });
    expect(number.json.message).toContain('caps.native.rolling24h: must be a quoted decimal string');
    expect((await admin(t, 'PUT', '/admin/policies/not-a-key', { chain: 'generic' })).json.__type).toBe('ValidationException');

    // Bodies that are not what the route takes.
    const raw = (method: string, path: string, body: string) =>
      fetch(t.url + path, { method, headers: { 'x-api-key': t.admin.apiKey }, body }).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as { __type: string; message: string },
      }));
    expect((await raw('PUT', '/admin/policies/alias/x', '{not json')).json.__type).toBe('SerializationException');
    expect((await raw('PUT', '/admin/policies/alias/x', '[]')).json.__type).toBe('ValidationException');
    expect((await raw('PUT', '/admin/policies/alias/x', '')).json.__type).toBe('ValidationException');
    expect((await raw('PUT', '/admin/kill-switch', '{"engaged":"yes"}')).json).toMatchObject({
      __type: 'ValidationException',
      message: expect.stringContaining('engaged: Expected boolean'),
    });
    expect((await raw('PUT', '/admin/kill-switch', '{"engaged":true,"scope":"all"}')).json.message).toContain("Unrecognized key(s) in object: 'scope'");
    expect((await raw('PUT', '/admin/kill-switch', '{"engaged":true,"key":"alias/nope"}')).json.__type).toBe('NotFoundException');
    expect((await fetch(t.url + '/admin/policies')).status).toBe(400);

    const signer = t.newKey('signer');
    for (const [method, path] of [
      ['GET', '/admin/policies'],
      ['PUT', '/admin/kill-switch'],
      ['DELETE', '/admin/policies/alias/x'],
    ] as const) {
      const r = await admin(t, method, path, method === 'PUT' ? { engaged: true } : undefined, signer);
      expect([path, r.json.__type]).toEqual([path, 'AccessDeniedException']);
    }
    expect((await admin(t, 'GET', '/admin/kill-switch')).json).toEqual({ global: null, keys: [] });
  });
});
