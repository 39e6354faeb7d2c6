import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { AUDITED_COMMANDS, AuditMode, YubiHsmClient, authKeyOf } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * The gateway's own run of the device-log reconciliation (issue 10 item 4, server side): a
 * simulated YubiHSM 2 laid out as `kmsgate hsm setup` does (runtime, key admin and auditor keys
 * with the layout's capabilities, the layout's commands audited), the gateway configured with
 * `deviceLog`, signatures through the SDK matched, and one made with the runtime password outside
 * kmsgate caught and shown in /metrics and /health. With force audit on (as setup leaves it), a
 * full device log is released when the device refuses a command, which then runs.
 */
let dir: string;
let sim: RunningSimulator;
let t: TestGateway;

/** The device laid out as `kmsgate hsm setup` does it (the layout's keys, its audited commands), passwords in files under `dir`. */
async function layOut(url: string, dir: string, { forceAudit = false } = {}): Promise<void> {
  const factory = new YubiHsmClient({ connectorUrl: url, password: 'password' });
  try {
    for (const role of ['runtime', 'keyadmin', 'auditor'] as const) {
      const k = authKeyOf(role);
      await factory.putAuthenticationKey({
        id: k.id,
        label: role,
        domains: k.domains === 'all' ? 0xffff : 1,
        capabilities: k.capabilities,
        delegatedCapabilities: k.delegatedCapabilities,
        password: `${role}-pw`,
      });
      writeFileSync(join(dir, role), `${role}-pw`, { mode: 0o600 });
    }
    await factory.setCommandAudit(new Map(AUDITED_COMMANDS.map((c) => [c, AuditMode.ON])));
    if (forceAudit) await factory.setForceAudit(AuditMode.ON);
  } finally {
    await factory.close();
  }
}

/** The backend entry for that device, with `deviceLog`; no timed run within a test (an hour apart). */
function backendEntry(url: string, dir: string): Record<string, unknown> {
  return {
    id: 'hsm',
    type: 'yubihsm',
    connectorUrl: url,
    authKeyId: authKeyOf('runtime').id,
    passwordFile: join(dir, 'runtime'),
    keyAdmin: { authKeyId: authKeyOf('keyadmin').id, passwordFile: join(dir, 'keyadmin') },
    deviceLog: { authKeyId: authKeyOf('auditor').id, passwordFile: join(dir, 'auditor'), intervalSeconds: 3600 },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-devicelog-'));
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  await layOut(sim.url, dir);
  t = await startTestGateway({ backends: [backendEntry(sim.url, dir)] });
});
afterAll(async () => {
  await t.stop();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(name: string, url = t.url): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{backend="hsm"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function deviceLogHealth(): Promise<Record<string, unknown>> {
  const health = (await (await fetch(`${t.url}/health`)).json()) as { backends: { id: string; deviceLog?: Record<string, unknown> }[] };
  return health.backends.find((b) => b.id === 'hsm')!.deviceLog!;
}

it('matches the signatures kmsgate made and catches one made with the runtime password outside kmsgate', async () => {
  const kms = t.client();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const keyId = KeyMetadata!.KeyId!;
  const sign = (text: string) => kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from(text), SigningAlgorithm: 'ECDSA_SHA_256' }));
  await sign('one');
  await sign('two');

  await t.gateway.reconcileDeviceLogs();
  expect(await metric('kmsgate_device_log_matched_signatures_total')).toBe(2);
  expect(await metric('kmsgate_device_log_unreconciled_signatures')).toBe(0);
  expect(await metric('kmsgate_device_log_last_success_timestamp_seconds')).toBeGreaterThan(0);
  expect(await deviceLogHealth()).toMatchObject({ ok: true, unreconciledSignatures: 0, problems: 0, failing: false });
  // The entries are kept in the store, then released on the device.
  expect((t.db.prepare('SELECT COUNT(*) AS n FROM hsm_log_entries').get() as { n: number }).n).toBeGreaterThan(0);

  // Someone with the runtime password signs without kmsgate.
  const { handle } = t.db.prepare('SELECT handle FROM keys WHERE key_id = ?').get(keyId) as { handle: string };
  const thief = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: authKeyOf('runtime').id, password: 'runtime-pw' });
  try {
    await thief.signEcdsa(Number(handle.split(':')[1]), new Uint8Array(createHash('sha256').update('stolen').digest()));
  } finally {
    await thief.close();
  }
  await sign('three');

  await t.gateway.reconcileDeviceLogs();
  expect(await metric('kmsgate_device_log_unreconciled_signatures')).toBe(1);
  expect(await metric('kmsgate_device_log_matched_signatures_total')).toBe(3);
  expect(await deviceLogHealth()).toMatchObject({ ok: false, unreconciledSignatures: 1, failing: false });

  // The finding stays until the gateway restarts; a clean run does not clear it.
  await t.gateway.reconcileDeviceLogs();
  expect(await metric('kmsgate_device_log_unreconciled_signatures')).toBe(1);
});

it('with force audit on, releases the full device log when the device refuses a command (LOG_FULL), and the command then runs', async () => {
  const own = mkdtempSync(join(tmpdir(), 'kmsgate-devicelog-full-'));
  const device = await startSimulator({ host: '127.0.0.1', port: 0 });
  let g: TestGateway | undefined;
  try {
    await layOut(device.url, own, { forceAudit: true });
    g = await startTestGateway({ backends: [backendEntry(device.url, own)] });
    const kms = g.client();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    // More signatures than the device's 62-entry log holds, each one entry: without a release the
    // device refuses one of them, and the SDK call rejects.
    for (let i = 0; i < 80; i++)
      await kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId!, Message: Buffer.from(`n${i}`), SigningAlgorithm: 'ECDSA_SHA_256' }));
    // No timed run has happened (an hour apart): the releases were the refusals'.
    expect(await metric('kmsgate_device_log_matched_signatures_total', g.url)).toBeGreaterThan(0);
    await g.gateway.reconcileDeviceLogs();
    expect(await metric('kmsgate_device_log_matched_signatures_total', g.url)).toBe(80);
    expect(await metric('kmsgate_device_log_unreconciled_signatures', g.url)).toBe(0);
  } finally {
    await g?.stop();
    await device.close();
    rmSync(own, { recursive: true, force: true });
  }
});
