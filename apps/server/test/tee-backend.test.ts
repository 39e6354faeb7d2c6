import { spawnSync } from 'node:child_process';
import { randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DescribeCustomKeyStoresCommand, GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SIM_MEASUREMENT, startTeeSimulator } from '@kmsgate/tee-sim';
import { verifyAttestation } from '@kmsgate/cli';
import { ConfigError, loadConfig, parseConfig } from '../src/config';
import { REPO_ROOT, startGateway } from '../src/gateway';
import { silentLogger } from '../src/log';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { runMain } from './helpers/main-process';

/**
 * The TEE backend inside the gateway: both embedded simulators at once, keys placed by
 * CustomKeyStoreId, the open attestation and rollback-counter endpoints, a TEE outage, overload,
 * and the production refusal of a simulated TEE. Signatures and attestations are checked with
 * node:crypto only.
 */
let t: TestGateway;
let kms: KMSClient;
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
});

const teeSim = () => t.gateway.backends.teeSimulators.get('tee')!;
const get = async (path: string) => {
  const res = await fetch(t.url + path);
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
};

describe('both backends at once', () => {
  it('/health lists both embedded simulators as simulated', async () => {
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(health.json.backends).toEqual([
      { id: 'yubihsm', kind: 'yubihsm', name: 'Embedded YubiHSM 2 simulator', simulated: true, connectionState: 'CONNECTED' },
      { id: 'tee', kind: 'tee', name: 'Embedded TEE simulator', simulated: true, connectionState: 'CONNECTED' },
    ]);
  });

  it('DescribeCustomKeyStores lists both', async () => {
    const out = await kms.send(new DescribeCustomKeyStoresCommand({}));
    expect(out.CustomKeyStores!.map((s) => [s.CustomKeyStoreId, s.ConnectionState])).toEqual([
      ['tee', 'CONNECTED'],
      ['yubihsm', 'CONNECTED'],
    ]);
  });

  it('CreateKey with CustomKeyStoreId tee puts the key in the TEE, and Sign goes there; the default stays the YubiHSM 2', async () => {
    const keys = teeSim().ta.keyCount;
    const signs = teeSim().stats().invocations.sign;
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    expect(KeyMetadata).toMatchObject({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'tee' });
    expect(teeSim().ta.keyCount).toBe(keys + 1);
    const message = Buffer.from('routed to the TEE');
    const { Signature } = await kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }));
    expect(verify('sha256', message, { key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }, Signature!)).toBe(true);
    expect(teeSim().stats().invocations.sign).toBe(signs + 1);

    const onDefault = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    expect(onDefault.KeyMetadata!.Origin).toBe('AWS_KMS');
    expect(teeSim().ta.keyCount).toBe(keys + 1);
  });

  it('refuses a key spec the TEE cannot hold', async () => {
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });
});

describe("key specs from the bridge's hello", () => {
  it('CreateKey for a key type the bridge does not announce is UnsupportedOperationException and reaches no TA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-tee-nok1-'));
    const sim = await startTeeSimulator({ socketPath: join(dir, 'bridge.sock'), keyTypes: ['P256', 'ED25519'] });
    const g = await startTestGateway({
      backends: [
        { id: 'yubihsm', type: 'yubihsm', embedded: true },
        { id: 'tee-p256', type: 'tee', socketPath: sim.socketPath },
      ],
    });
    try {
      const client = g.client();
      await expect(
        client.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee-p256' })),
      ).rejects.toMatchObject({ name: 'UnsupportedOperationException', message: 'KeySpec ECC_SECG_P256K1 is not supported by custom key store tee-p256.' });
      // A TA without AES keys: no SYMMETRIC_DEFAULT either.
      await expect(client.send(new CreateKeyCommand({ CustomKeyStoreId: 'tee-p256' }))).rejects.toMatchObject({
        name: 'UnsupportedOperationException',
        message: 'KeySpec SYMMETRIC_DEFAULT is not supported by custom key store tee-p256.',
      });
      expect(sim.stats().invocations.generateKey).toBe(0);
      const { KeyMetadata } = await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee-p256' }));
      expect(KeyMetadata).toMatchObject({ KeySpec: 'ECC_NIST_P256', CustomKeyStoreId: 'tee-p256' });
      expect(sim.ta.keyCount).toBe(1);
    } finally {
      await g.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /attestation', () => {
  it('returns the TA signature over domain ‖ nonce ‖ measurement and the verification material', async () => {
    const nonce = randomBytes(32).toString('hex');
    const res = await get(`/attestation?nonce=${nonce}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const att = res.json;
    expect(att).toMatchObject({
      backend: 'tee',
      mode: 'simulated',
      algorithm: 'ECDSA_P256_SHA256',
      nonce,
      measurement: Buffer.from(SIM_MEASUREMENT).toString('hex'),
      publicKey: Buffer.from(teeSim().ta.attestationPublicKey).toString('hex'),
      taUuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const signed = Buffer.concat([Buffer.from('kmsgate-tee-attestation/v2'), Buffer.from(nonce, 'hex'), SIM_MEASUREMENT]);
    expect(verify('sha256', signed, { key: Buffer.from(att.publicKey, 'hex'), format: 'der', type: 'spki' }, Buffer.from(att.signature, 'hex'))).toBe(true);

    expect(verifyAttestation(att, { nonce, measurement: att.measurement, publicKey: att.publicKey })).toMatchObject({ ok: true });
    expect(verifyAttestation(att, { nonce: 'ab'.repeat(32) })).toEqual({ ok: false, reason: expect.stringMatching(/another nonce/) });
    expect(verifyAttestation(att, { nonce, measurement: '00'.repeat(32) })).toEqual({ ok: false, reason: expect.stringMatching(/measurement differs/) });
    const tampered = att.signature.slice(0, -2) + (att.signature.endsWith('00') ? '01' : '00');
    expect(verifyAttestation({ ...att, signature: tampered }, { nonce })).toEqual({
      ok: false,
      reason: 'the signature does not verify over domain ‖ nonce ‖ measurement',
    });
    // Upper-case hex in the query is accepted; the TA gets it in canonical form.
    expect((await get(`/attestation?nonce=${nonce.toUpperCase()}`)).json.nonce).toBe(nonce);
  });

  it.each([
    ['missing', '', "1 validation error detected: Value null at 'nonce' failed to satisfy constraint: Member must not be null"],
    [
      'empty',
      '?nonce=',
      "1 validation error detected: Value at 'nonce' failed to satisfy constraint: Member must have length greater than or equal to 2; Value at 'nonce' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([0-9a-fA-F]{2})+$",
    ],
    [
      'odd-length',
      '?nonce=abc',
      "1 validation error detected: Value at 'nonce' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([0-9a-fA-F]{2})+$",
    ],
    [
      'not hex',
      '?nonce=zz',
      "1 validation error detected: Value at 'nonce' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([0-9a-fA-F]{2})+$",
    ],
    [
      '65 bytes',
      `?nonce=${'00'.repeat(65)}`,
      "1 validation error detected: Value at 'nonce' failed to satisfy constraint: Member must have length less than or equal to 128",
    ],
  ])('a %s nonce is 400 ValidationException', async (_what, query, message) => {
    const res = await get(`/attestation${query}`);
    expect(res.status).toBe(400);
    // A browser shows application/json; awsJson's own type (or an attachment) it would download.
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect(res.json.__type).toBe('ValidationException');
    // "N validation error(s)": the empty case has two.
    expect(res.json.message.replace(/^2 validation errors/, '1 validation error')).toBe(message);
  });

  it('an unknown backend is NotFoundException', async () => {
    const res = await get('/attestation?nonce=01&backend=yubihsm');
    expect(res).toMatchObject({ status: 400, json: { __type: 'NotFoundException', message: 'No TEE backend has id yubihsm.' } });
  });

  it('kmsgate verify-attestation verifies it offline from stdin (exit 0), refuses a wrong nonce (exit 1) and a missing one (exit 2)', async () => {
    const nonce = randomBytes(16).toString('hex');
    const att = JSON.stringify((await get(`/attestation?nonce=${nonce}`)).json);
    const run = (n: string) =>
      spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'kmsgate'), ['verify-attestation', ...(n ? ['--nonce', n] : [])], { input: att, encoding: 'utf8' });
    const good = run(nonce);
    expect(good.stdout).toMatch(/VERIFIED: signature over domain ‖ nonce ‖ measurement/);
    expect(good.stdout).toMatch(/SIMULATED TEE/);
    expect(good.status).toBe(0);
    const bad = run('00'.repeat(16));
    expect(bad.stdout).toMatch(/NOT VERIFIED: the attestation is for another nonce/);
    expect(bad.status).toBe(1);
    const missing = run('');
    expect(missing.stderr).toBe('kmsgate: --nonce is required: the nonce you sent with GET /attestation\n');
    expect(missing.status).toBe(2);
  });
});

describe('GET /RollbackCounter', () => {
  it('returns the counter, which grows with each key created in the TEE', async () => {
    const before = await get('/RollbackCounter');
    expect(before.status).toBe(200);
    expect(before.json).toEqual({ backend: 'tee', counter: teeSim().ta.counter });
    await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    expect((await get('/RollbackCounter')).json.counter).toBe(before.json.counter + 1);
  });
});

describe('faults, seen through the AWS SDK', () => {
  it('TEEC_ERROR_BUSY is ThrottlingException (400)', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    teeSim().faults.inject({ kind: 'busy', cmd: 'sign' });
    await expect(kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('a TEE outage is KeyUnavailableException for TEE keys only; the gateway recovers when the bridge is back', async () => {
    const tee = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    const hsm = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const sign = (KeyId: string) => kms.send(new SignCommand({ KeyId, Message: Buffer.from('outage'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    const sim = teeSim();
    const { socketPath } = sim;
    const statePath = sim.ta.storage.statePath!;
    await sim.close();
    await expect(sign(tee.KeyMetadata!.KeyId!)).rejects.toMatchObject({ name: 'KeyUnavailableException', $metadata: { httpStatusCode: 500 } });
    await sign(hsm.KeyMetadata!.KeyId!);
    // /health answers from a cache of up to 2 s: poll until it has seen the outage.
    let health = await get('/health');
    while (health.status !== 503) health = await new Promise((r) => setTimeout(r, 20)).then(() => get('/health'));
    expect(health.json.backends[1]).toMatchObject({ id: 'tee', connectionState: 'FAILED' });

    const again = await startTeeSimulator({ socketPath, statePath });
    try {
      // The backend reconnects after a backoff: poll until /health sees it back, then sign.
      while ((await get('/health')).status !== 200) await new Promise((r) => setTimeout(r, 20));
      const out = await sign(tee.KeyMetadata!.KeyId!);
      expect(out.Signature!.length).toBeGreaterThan(8);
    } finally {
      await again.close();
    }
  });
});

describe('configuration', () => {
  it('npm start without configuration runs both simulators, the YubiHSM 2 one as default', () => {
    const cfg = loadConfig({ KMSGATE_DATA_DIR: '/tmp/x' } as NodeJS.ProcessEnv);
    expect(cfg.defaultBackend).toBe('yubihsm');
    expect(cfg.backends.map((b) => [b.id, b.type, b.embedded])).toEqual([
      ['yubihsm', 'yubihsm', true],
      ['tee', 'tee', true],
    ]);
    const board = loadConfig({ KMSGATE_TEE_SOCKET: '/run/tee.sock' } as NodeJS.ProcessEnv);
    expect(board.backends[1]).toMatchObject({ id: 'tee', type: 'tee', socketPath: '/run/tee.sock' });
  });

  it.each([
    [{ id: 'tee', type: 'tee' }, 'backends.0: set exactly one of socketPath or embedded: true'],
    [{ id: 'tee', type: 'tee', embedded: true, socketPath: '/x.sock' }, 'backends.0: set exactly one of socketPath or embedded: true'],
    [
      { id: 'tee', type: 'tee', socketPath: '/x.sock', statePath: '/s.json' },
      'backends.0.statePath: statePath is only for an embedded simulator (embedded: true)',
    ],
    [{ id: 'tee', type: 'tee', embedded: true, passwordEnv: 'X' }, "backends.0: Unrecognized key(s) in object: 'passwordEnv'"],
    [{ id: 'tee', type: 'tee', socketPath: `/${'s'.repeat(120)}` }, 'backends.0.socketPath: must be at most 107 bytes (a Unix socket path limit)'],
    [
      { id: 'tee', type: 'tee', embedded: true, breaker: { failureThreshold: 0 } },
      'backends.0.breaker.failureThreshold: Number must be greater than or equal to 1',
    ],
    [{ id: 'x', type: 'sgx' }, "backends.0.type: Invalid discriminator value. Expected 'yubihsm' | 'tee'"],
  ])('refuses a bad tee backend entry %#', (entry, message) => {
    expect(() => parseConfig({ backends: [entry] }, 'test', {})).toThrow(new ConfigError(`invalid configuration in test: ${message}`));
  });

  it('production: true refuses an embedded simulator at parse time', () => {
    expect(() => parseConfig({ production: true, backends: [{ id: 'tee', type: 'tee', embedded: true }] }, 'test', {})).toThrow(
      /backends\.0\.embedded: production: true refuses an embedded simulator/,
    );
  });

  it('production: true refuses a bridge whose hello says "simulated" at startup, and main exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-prod-'));
    const sim = await startTeeSimulator({ socketPath: join(dir, 'bridge.sock') });
    try {
      const env = { KMSGATE_DATA_DIR: dir } as NodeJS.ProcessEnv;
      const config = parseConfig({ production: true, server: { port: 0 }, backends: [{ id: 'board', type: 'tee', socketPath: sim.socketPath }] }, 'test', env);
      await expect(startGateway(config, silentLogger, env)).rejects.toThrow(
        /backend board: the TEE bridge at .* reports mode "simulated"; production: true refuses a simulated backend/,
      );

      const configPath = join(dir, 'kmsgate.yaml');
      writeFileSync(configPath, `production: true\nserver:\n  port: 0\nbackends:\n  - id: board\n    type: tee\n    socketPath: ${sim.socketPath}\n`);
      // runMain is not spawnSync: the simulator runs in this process and must keep answering.
      const run = await runMain({ KMSGATE_CONFIG: configPath, KMSGATE_DATA_DIR: dir, PORT: '0' });
      expect(run.stderr).toMatch(/reports mode \\?"simulated\\?"; production: true refuses a simulated backend/);
      expect(run.status).toBe(2);
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
