/**
 * A YubiHSM 2 device pool end to end: two simulator processes (each its own connector on a real
 * socket) holding the same keys, the real gateway, the AWS SDK. One device is killed while
 * signatures are in flight: every request is answered with a signature that verifies, and each is
 * recorded (and would be counted against caps) exactly once.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { readAuditTail } from '@kmsgate/store';
import { ConfigError, parseConfig } from '../src/config';
import { createLogger } from '../src/log';
import type { YubiHsmBackend } from '@kmsgate/yubihsm';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { type SimProcess, startSimProcess } from './helpers/sim-process';

const SERIAL_A = 41_000_001;
const SERIAL_B = 41_000_002;
const SIGNS = 45;
/** Responses received before device A is killed: the rest are in flight or not yet sent. */
const KILL_AFTER = 12;

let work: string;
let dataDir: string;
let passwordFile: string;
const sims: SimProcess[] = [];
let t: TestGateway | undefined;
const logged: Record<string, unknown>[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kmsgate-pool-e2e-'));
  dataDir = join(work, 'data');
  passwordFile = join(work, 'hsm.password');
  writeFileSync(passwordFile, 'password', { mode: 0o600 });
});

afterAll(async () => {
  await t?.stop({ keepData: true });
  for (const s of sims) await s.kill();
  rmSync(work, { recursive: true, force: true });
});

function verifies(spki: Uint8Array, message: Uint8Array, signature: Uint8Array, algorithm: string): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  if (algorithm === 'ED25519_SHA_512') return cryptoVerify(null, message, key, signature);
  return cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, signature);
}

it('a pool of two devices keeps signing through one being killed under load, each signature made and recorded once', async () => {
  const a = await startSimProcess({ serial: SERIAL_A, statePath: join(work, 'a.json') });
  sims.push(a);

  // Keys are created while the backend is one device, as docs/configuration.md says.
  const single = await startTestGateway({
    dataDir,
    backends: [{ id: 'hsm', type: 'yubihsm', connectorUrl: a.url, serial: SERIAL_A, passwordFile }],
  });
  const specs = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
    ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512'],
  ] as const;
  const keys: { keyId: string; algorithm: (typeof specs)[number][1] }[] = [];
  for (const [spec, algorithm] of specs) {
    const { KeyMetadata } = await single.client().send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }));
    keys.push({ keyId: KeyMetadata!.KeyId!, algorithm });
  }
  await single.stop({ keepData: true });

  // The second device: the first's keys under its own serial (a restored backup).
  copyFileSync(join(work, 'a.json'), join(work, 'b.json'));
  const b = await startSimProcess({ serial: SERIAL_B, statePath: join(work, 'b.json') });
  sims.push(b);

  t = await startTestGateway({
    dataDir,
    backends: [
      {
        id: 'hsm',
        type: 'yubihsm',
        connectors: [
          { url: a.url, serial: SERIAL_A },
          { url: b.url, serial: SERIAL_B },
        ],
        passwordFile,
      },
    ],
    // /health checks the devices on every call, so it shows A down right after the kill.
    limits: { healthCacheMs: 0 },
    logger: createLogger({ level: 'info', sink: (l) => logged.push(JSON.parse(l) as Record<string, unknown>) }),
  });
  const kms = t.client();
  const publicKeys = new Map<string, Uint8Array>();
  for (const k of keys) publicKeys.set(k.keyId, (await kms.send(new GetPublicKeyCommand({ KeyId: k.keyId }))).PublicKey!);

  // A key made on one device only would lose the pool's failover: refused, nothing created.
  await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
    name: 'UnsupportedOperationException',
    message: expect.stringContaining('is a pool of 2 devices'),
  });

  const health = (await (await fetch(`${t.url}/health`)).json()) as any;
  expect(health.backends[0]).toMatchObject({
    id: 'hsm',
    connectionState: 'CONNECTED',
    devices: [
      { serial: SERIAL_A, connectionState: 'CONNECTED' },
      { serial: SERIAL_B, connectionState: 'CONNECTED' },
    ],
  });
  const stores = await t.call('DescribeCustomKeyStores', {});
  expect(stores.json.CustomKeyStores[0].Devices).toEqual([
    { Serial: SERIAL_A, ConnectionState: 'CONNECTED' },
    { Serial: SERIAL_B, ConnectionState: 'CONNECTED' },
  ]);

  let answered = 0;
  let killed: Promise<void> | undefined;
  const requests = Array.from({ length: SIGNS }, async (_, i) => {
    const key = keys[i % keys.length]!;
    const message = new TextEncoder().encode(`pool message ${i}`);
    const out = await kms.send(
      new SignCommand({
        KeyId: key.keyId,
        SigningAlgorithm: key.algorithm,
        MessageType: 'RAW',
        Message: message,
      }),
    );
    answered++;
    if (answered === KILL_AFTER) killed = a.kill();
    return { key, message, out };
  });
  const results = await Promise.all(requests);
  await killed;
  expect(killed).toBeDefined();

  for (const { key, message, out } of results) {
    expect(verifies(publicKeys.get(key.keyId)!, message, out.Signature!, key.algorithm)).toBe(true);
  }
  const backend = t.gateway.backends.registry.find('hsm') as YubiHsmBackend;
  expect(backend.stats().failovers).toBeGreaterThan(0);

  // Exactly one accept record per Sign request, under distinct request ids, each over its own input.
  const signs = readAuditTail(t.db, 10_000).filter((r) => r.operation === 'Sign');
  expect(signs.filter((r) => r.decision !== 'accept')).toEqual([]);
  expect(signs).toHaveLength(SIGNS);
  expect(new Set(signs.map((r) => r.requestId)).size).toBe(SIGNS);
  const digests = results.map(({ key, message }) => {
    const signed = key.algorithm === 'ED25519_SHA_512' ? message : createHash('sha256').update(message).digest();
    return createHash('sha256').update(signed).digest('hex');
  });
  expect(signs.map((r) => r.signedDigest).sort()).toEqual(digests.sort());

  // Still serving on B; A shows as failed, for /health and for each device's metric.
  const after = await fetch(`${t.url}/health`);
  expect(after.status).toBe(200);
  expect(((await after.json()) as any).backends[0].devices).toEqual([
    { serial: SERIAL_A, connectionState: 'FAILED', error: 'connector unreachable' },
    { serial: SERIAL_B, connectionState: 'CONNECTED' },
  ]);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  expect(metrics).toContain(`kmsgate_backend_device_up{backend="hsm",serial="${SERIAL_A}"} 0`);
  expect(metrics).toContain(`kmsgate_backend_device_up{backend="hsm",serial="${SERIAL_B}"} 1`);
  // One log line for A going down, however many checks saw it down; the pool itself never went down.
  expect((await fetch(`${t.url}/health`)).status).toBe(200);
  expect(logged.filter((l) => typeof l.msg === 'string' && /^backend (device )?(up|down)$/.test(l.msg))).toEqual([
    { time: expect.any(String), level: 'warn', msg: 'backend device down', backend: 'hsm', serial: SERIAL_A, state: 'FAILED', error: 'connector unreachable' },
  ]);
  // Two gateway starts, key creation and 45 audited, fsynced signatures on a busy machine.
}, 180_000);

describe('device pool configuration', () => {
  const url = 'http://127.0.0.1:12345';
  const pool = (extra: Record<string, unknown>) => ({ id: 'hsm', type: 'yubihsm', passwordEnv: 'HSM_PASSWORD', ...extra });
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'both connectorUrl and connectors',
      pool({ connectorUrl: url, connectors: [{ url, serial: 1 }] }),
      'backends.0: set exactly one of connectorUrl, connectors or embedded: true',
    ],
    [
      'connectors and embedded',
      pool({ embedded: true, connectors: [{ url, serial: 1 }] }),
      'backends.0: set exactly one of connectorUrl, connectors or embedded: true',
    ],
    ['an empty list', pool({ connectors: [] }), 'backends.0.connectors: Array must contain at least 1 element(s)'],
    ['a device without its serial', pool({ connectors: [{ url }] }), 'backends.0.connectors.0.serial: Required'],
    [
      'an unknown field in a device',
      pool({ connectors: [{ url, serial: 1, password: 'x' }] }),
      "backends.0.connectors.0: Unrecognized key(s) in object: 'password'",
    ],
    [
      'two devices with one serial',
      pool({
        connectors: [
          { url, serial: 1 },
          { url: 'http://127.0.0.1:12346', serial: 1 },
        ],
      }),
      'backends.0.connectors: each device of a pool must have its own serial',
    ],
    [
      'two devices behind one connector',
      pool({
        connectors: [
          { url, serial: 1 },
          { url, serial: 2 },
        ],
      }),
      'backends.0.connectors: each device of a pool must have its own connector url',
    ],
    [
      'a top-level serial with connectors',
      pool({ serial: 1, connectors: [{ url, serial: 1 }] }),
      'backends.0.serial: with connectors, give each device its serial there',
    ],
    [
      'no password source',
      { id: 'hsm', type: 'yubihsm', connectors: [{ url, serial: 1 }] },
      'backends.0: a connector backend needs passwordFile or passwordEnv (the password is never read from the YAML)',
    ],
  ];
  for (const [what, entry, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => parseConfig({ backends: [entry] }, 'test', {})).toThrow(new ConfigError(`invalid configuration in test: ${message}`));
    });
  }

  it('accepts a pool, and keeps connectorUrl working', () => {
    const c = parseConfig(
      {
        backends: [
          pool({
            connectors: [
              { url, serial: 1 },
              { url: 'http://127.0.0.1:12346', serial: 2 },
            ],
          }),
          pool({ id: 'one', connectorUrl: url, serial: 3 }),
        ],
      },
      'test',
      {},
    );
    expect(c.backends[0]).toMatchObject({
      connectors: [
        { url, serial: 1 },
        { url: 'http://127.0.0.1:12346', serial: 2 },
      ],
    });
    expect(c.backends[1]).toMatchObject({ connectorUrl: url, serial: 3 });
  });
});
