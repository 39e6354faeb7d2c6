import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyStore, SqliteAuditLog, openDb } from '@kmsgate/store';
import { YubiHsmClient } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { AUDITOR, auditedDevice, signDirectly as signDirectlyAt } from './helpers/audited-device';
import { kmsgate as run } from './helpers/cli';

/**
 * `kmsgate hsm audit` on its own: the layout's auditor (0x0005) and runtime (0x0004) keys put by
 * hand, a key recorded in the store, signatures recorded in kmsgate's audit log or not.
 */
const KEY_ID = '0d000000-0000-4000-8000-00000000000d';

let dir: string;
let sim: RunningSimulator;
let objectId: number;
const kmsgate = (...args: string[]) => run({ KMSGATE_DATA_DIR: join(dir, 'data') }, ...args);
const audit = () => kmsgate('hsm', 'audit', '--connector', sim.url, '--password-file', join(dir, 'auditor.password'));

async function recordSign(): Promise<void> {
  const db = openDb(join(dir, 'data', 'kms.db'));
  try {
    await new SqliteAuditLog(db, { jsonlPath: join(dir, 'data', 'audit.jsonl'), fsync: false }).append({
      requestId: `r-${Math.random()}`,
      operation: 'Sign',
      keyId: KEY_ID,
      decision: 'accept',
    });
  } finally {
    db.close();
  }
}

const signDirectly = (text: string) => signDirectlyAt(sim.url, objectId, text);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-hsm-audit-'));
  writeFileSync(join(dir, 'auditor.password'), `${AUDITOR.password}\n`, { mode: 0o600 });
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  const device = await auditedDevice(sim.url);
  objectId = device.objectId;
  const db = openDb(join(dir, 'data', 'kms.db'));
  try {
    new KeyStore(db).insertKey({
      keyId: KEY_ID,
      createdAt: new Date(),
      description: '',
      keyUsage: 'SIGN_VERIFY',
      keySpec: 'ECC_NIST_P256',
      keyState: 'Enabled',
      origin: 'AWS_CLOUDHSM',
      backendId: 'yubihsm',
      handle: device.handle,
      publicKey: device.publicKey,
    });
  } finally {
    db.close();
  }
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

it('matches recorded signatures and releases the log; a signature kmsgate did not record exits 1 with its entry', async () => {
  await signDirectly('one');
  await recordSign();
  const first = await audit();
  expect(first.stdout).toContain("1 device key use(s) matched to kmsgate's audit log\nOK: every key use on the device is accounted for\n");
  expect(first.code).toBe(0);

  await signDirectly('not recorded');
  const caught = await audit();
  expect(caught.code).toBe(1);
  expect(caught.stdout).toMatch(
    new RegExp(
      `^serial ${sim.device.serial}: 1 new log entries\\n0 device key use\\(s\\) matched to kmsgate's audit log\\n` +
        `UNEXPLAINED: serial ${sim.device.serial} entry #\\d+: SIGN_ECDSA on object 0x${objectId.toString(16).padStart(4, '0')} by authentication key 0x0004 \\(tick \\d+\\): signature not recorded by kmsgate\\n$`,
    ),
  );

  // Reported once: the entry is kept in the store and released on the device.
  expect(await audit()).toMatchObject({ code: 0 });
});

it("keeps the device working under force audit: signatures beyond the log's size succeed once audits release it", async () => {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 30; i++) {
      await signDirectly(`busy ${round} ${i}`);
      await recordSign();
    }
    const r = await audit();
    expect(r.stdout).toContain('30 device key use(s) matched');
    expect(r.code).toBe(0);
  }
});

it('reports entries released by someone else between two audits (the log no longer chains on)', async () => {
  await signDirectly('before');
  await recordSign();
  await signDirectly('hidden');
  const auditor = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: AUDITOR.id, password: AUDITOR.password });
  try {
    const { entries } = await auditor.getLogEntries();
    await auditor.setLogIndex(entries[entries.length - 1]!.number);
  } finally {
    await auditor.close();
  }
  await signDirectly('after');
  await recordSign();
  const r = await audit();
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('PROBLEM: serial');
  expect(r.stdout).toContain('entries were lost or altered in between');
});

it("needs the auditor's password", async () => {
  writeFileSync(join(dir, 'wrong'), 'nope', { mode: 0o600 });
  const r = await kmsgate('hsm', 'audit', '--connector', sim.url, '--password-file', join(dir, 'wrong'));
  expect(r).toEqual({ code: 2, stdout: '', stderr: `kmsgate: the device at ${sim.url} refuses the auditor key 0x0005 with that password\n` });
});
