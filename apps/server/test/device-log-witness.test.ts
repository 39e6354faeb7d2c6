import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { openSqliteGatewayStore, readAuditRecords, type AuditRecordFilter, type DeviceLogRepository } from '@kmsgate/store';
import { PgDeviceLogRepository, openPgGateState, type PgGateState } from '@kmsgate/store-pg';
import { AUDITED_COMMANDS, AuditMode, YubiHsmClient, authKeyOf } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { createDeviceLogWitness } from '../src/device-log-witness';
import { silentLogger } from '../src/log';
import { createMetrics } from '../src/metrics';
import { testServer } from '../../../packages/store-pg/test/helpers/pg-server';
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

/** Yubico's command code of Sign ECDSA (the device logs it once per signature). */
const SIGN_ECDSA = 0x56;

interface KeptEntry {
  number: number;
  command: number;
  digest: string;
}

/**
 * Two gateways beside one HSM, each with its own witness of the device, on one shared store:
 * `logs(i)` is gateway i's device-log state, `kept()` every entry the store kept, in order.
 */
async function twoWitnessesAtOnce(logs: (i: number) => DeviceLogRepository, kept: () => Promise<KeptEntry[]>): Promise<void> {
  const kms = t.client();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const reads = openSqliteGatewayStore({ KMSGATE_DATA_DIR: t.dataDir });
  const witnesses = [0, 1].map((i) =>
    createDeviceLogWitness({
      logs: logs(i),
      keys: reads.keys,
      rotations: reads.rotations,
      refresh: () => reads.refresh(),
      targets: [{ backendId: 'hsm', connectorUrls: [sim.url], authKeyId: authKeyOf('auditor').id, password: 'auditor-pw', intervalMs: 3_600_000 }],
      logger: silentLogger,
      metrics: createMetrics(),
      now: () => new Date(),
    }),
  );
  try {
    const before = (await kept()).length;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++)
        await kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId!, Message: Buffer.from(`r${round}-${i}`), SigningAlgorithm: 'ECDSA_SHA_256' }));
      await Promise.all(witnesses.map((w) => w.run()));
    }
    // The lease may have sent one witness away in the last round: one more pass each keeps the rest.
    for (const w of witnesses) await w.run();
    const all = await kept();
    expect(new Set(all.map((e) => e.digest)).size).toBe(all.length);
    // Consecutive device entry numbers from the first one kept here on: nothing lost in between.
    const mine = all.slice(before);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.number).toBe((mine[i - 1]!.number + 1) % 0x10000);
    expect(mine.filter((e) => e.command === SIGN_ECDSA)).toHaveLength(15);
    for (const w of witnesses) expect(w.status().get('hsm')).toMatchObject({ unexplained: 0, problems: [] });
    expect(witnesses.map((w) => w.status().get('hsm')!.error)).toEqual([undefined, undefined]);
  } finally {
    for (const w of witnesses) await w.stop();
    await reads.close();
  }
}

describe('two witnesses beside one HSM, run at once again and again: every device entry is kept exactly once, none is lost', () => {
  it('SQLite (two connections to the gateway store)', async () => {
    // Whatever earlier tests left on the device is kept by the gateway's own witness first.
    await t.gateway.reconcileDeviceLogs();
    const stores = [openSqliteGatewayStore({ KMSGATE_DATA_DIR: t.dataDir }), openSqliteGatewayStore({ KMSGATE_DATA_DIR: t.dataDir })];
    try {
      await twoWitnessesAtOnce(
        (i) => stores[i]!.deviceLogs,
        async () => t.db.prepare('SELECT number, command, hex(digest) AS digest FROM hsm_log_entries ORDER BY id').all() as KeptEntry[],
      );
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('PostgreSQL (two pools on one database; the audit records read from the gateway that signs)', async () => {
    const server = await testServer();
    const gates: PgGateState[] = [];
    try {
      const url = await server.createDatabase();
      for (let i = 0; i < 2; i++) gates.push(await openPgGateState({ url }));
      // The device's log starts where the gateway's own witness left it.
      await t.gateway.reconcileDeviceLogs();
      const last = t.db.prepare('SELECT * FROM hsm_log_entries ORDER BY id DESC LIMIT 1').get() as Record<string, unknown>;
      await gates[0]!.pool.query(
        `INSERT INTO hsm_log_entries (serial, number, command, length, session_key, target_key, second_key, result, tick, digest, read_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)`,
        [last.serial, last.number, last.command, last.length, last.session_key, last.target_key, last.second_key, last.result, last.tick, last.digest],
      );
      const audit = { records: async (filter: AuditRecordFilter) => readAuditRecords(t.db, filter) };
      await twoWitnessesAtOnce(
        (i) => new PgDeviceLogRepository(gates[i]!.pool, audit),
        async () =>
          (await gates[0]!.pool.query<KeptEntry>("SELECT number, command, upper(encode(digest, 'hex')) AS digest FROM hsm_log_entries ORDER BY id")).rows,
      );
    } finally {
      for (const g of gates) await g.close();
      await server.close();
    }
  });
});
