import { createPublicKey, verify } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DescribeKeyCommand, GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { spkiFromRawPublicKey, type KeyRecord } from '@kmsgate/core';
import type { GatewayStore } from '@kmsgate/store';
import { openGatewayStore, type StoreSpec } from '@kmsgate/store-open';
import { Algorithm, Capability, CeremonySecrets, YubiHsmClient, authKeyOf, openBackup } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import {
  closeKmsClients,
  kmsClient,
  pollUntil,
  startGatewayProcess,
  untilKnown,
  type GatewayProcess,
  type GeneratedApiKey,
} from '../../server/test/helpers/gateway-processes';
import { AUDITOR, auditedDevice, signDirectly as signDirectlyAt } from './helpers/audited-device';
import { kmsgate, type CliResult } from './helpers/cli';

/**
 * `kmsgate hsm audit|backup|restore` as processes on a PostgreSQL store (store.url, its password
 * from a file): the same store factory as every other command, so a team whose gateways share a
 * database audits, backs up and restores through the CLI. The SQLite behaviour has its own suites
 * (hsm-audit.test.ts, hsm-ceremony.test.ts); this one checks what is PostgreSQL's: the witness
 * state and lease in the database, the one audit chain, and the faults of a database.
 */
const MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title';
const secrets = CeremonySecrets.fromMnemonic(MNEMONIC);
const BACKEND = 'yubihsm';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await testServer();
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-hsm-pg-'));
  writeFileSync(join(dir, 'mnemonic'), `${MNEMONIC}\n`, { mode: 0o600 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A new database, created as a gateway's first start creates it, and a configuration naming it (the password in a file). */
interface PgStore {
  spec: StoreSpec;
  url: string;
  dataDir: string;
  config: string;
  /** Runs `kmsgate --config <config> …` on it; the password never appears in what it prints. */
  cli(...args: string[]): Promise<CliResult>;
  /** The database as a gateway sees it. */
  open<T>(f: (store: GatewayStore) => Promise<T>): Promise<T>;
}

let stores = 0;
async function newStore(backendYaml = ['backends: [{ id: yubihsm, type: yubihsm, embedded: true }]']): Promise<PgStore> {
  const name = `store${++stores}`;
  const base = join(dir, name);
  mkdirSync(base);
  const dataDir = join(base, 'data');
  const full = new URL(await server.createDatabase());
  const password = decodeURIComponent(full.password);
  const bare = new URL(full);
  bare.password = '';
  const passwordFile = join(base, 'pg.password');
  writeFileSync(passwordFile, `${password}\n`);
  chmodSync(passwordFile, 0o600);
  const config = join(base, 'kmsgate.yaml');
  writeFileSync(
    config,
    [...backendYaml, 'store:', `  url: ${bare.toString()}`, ...(password ? [`  passwordFile: ${passwordFile}`] : []), '  maxConnections: 2', ''].join('\n'),
  );
  const spec: StoreSpec = { url: bare.toString(), ...(password ? { password } : {}) };
  await (await openGatewayStore(spec, { KMSGATE_DATA_DIR: dataDir }, { create: true })).close();
  return {
    spec,
    url: full.toString(),
    dataDir,
    config,
    async cli(...args) {
      const r = await kmsgate({ KMSGATE_DATA_DIR: dataDir, KMSGATE_CONFIG: '', KMS_DB_PATH: '' }, '--config', config, ...args);
      for (const text of [r.stdout, r.stderr]) {
        if (password) expect(text).not.toContain(`:${encodeURIComponent(password)}@`);
        if (password && password !== full.username) expect(text).not.toContain(password);
      }
      return r;
    },
    async open(f) {
      const store = await openGatewayStore(spec, { KMSGATE_DATA_DIR: dataDir });
      try {
        await store.refresh();
        return await f(store);
      } finally {
        await store.close();
      }
    },
  };
}

/** A configuration whose store.url no database answers on. */
function unreachableConfig(): string {
  const path = join(dir, 'unreachable.yaml');
  writeFileSync(path, 'backends: [{ id: yubihsm, type: yubihsm, embedded: true }]\nstore:\n  url: postgres://kmsgate@127.0.0.1:1/kmsgate\n');
  return path;
}

/** A store migrated by a newer kmsgate (one schema version past this one). */
async function newerStore(): Promise<PgStore> {
  const s = await newStore();
  const admin = new pg.Client({ connectionString: s.url });
  await admin.connect();
  await admin.query('UPDATE schema_version SET version = version + 1');
  await admin.end();
  return s;
}

function expectOneLine(r: CliResult, code: number, line: RegExp): void {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(line);
  expect(r.code).toBe(code);
}

function keyRecord(keyId: string, over: Partial<KeyRecord>): KeyRecord {
  return {
    keyId,
    createdAt: new Date('2026-12-05T00:00:00Z'),
    description: `key ${keyId.slice(0, 2)}`,
    keyUsage: 'SIGN_VERIFY',
    keySpec: 'ECC_NIST_P256',
    keyState: 'Enabled',
    origin: 'AWS_CLOUDHSM',
    backendId: BACKEND,
    handle: '',
    publicKey: new Uint8Array(0),
    ...over,
  };
}

/** An HTTP proxy to a connector that holds every request until `open()`; `reached` resolves at the first. */
async function gateProxy(target: string): Promise<{ url: string; reached: Promise<void>; requests(): number; open(): void; close(): Promise<void> }> {
  let opened = false;
  let requests = 0;
  const held: (() => void)[] = [];
  let reachedNow!: () => void;
  const reached = new Promise<void>((resolve) => (reachedNow = resolve));
  const server: Server = createServer((req, res) => {
    requests++;
    reachedNow();
    const forward = () => {
      const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    };
    if (opened) forward();
    else held.push(forward);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reached,
    requests: () => requests,
    open() {
      opened = true;
      for (const f of held.splice(0)) f();
    },
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

describe('hsm audit on PostgreSQL', () => {
  const KEY_ID = '0d000000-0000-4000-8000-00000000000d';
  let sim: RunningSimulator;
  let objectId: number;
  let store: PgStore;
  const auditorFile = () => join(dir, 'auditor.password');
  const audit = (s: PgStore, connector = sim.url) => s.cli('hsm', 'audit', '--connector', connector, '--password-file', auditorFile());

  const signDirectly = (text: string) => signDirectlyAt(sim.url, objectId, text);

  /** What a gateway on the database writes for a signature it made: one record in the shared chain. */
  const recordSign = () =>
    store.open(async (s) => {
      const log = await s.openAudit({ gateway: 'test' });
      try {
        return (await log.append({ requestId: `r-${Math.random()}`, operation: 'Sign', keyId: KEY_ID, decision: 'accept' })).seq;
      } finally {
        await log.close();
      }
    });

  /** The device's log as the auditor reads it (reading releases nothing). */
  async function deviceLog(): Promise<number[]> {
    const auditor = new YubiHsmClient({ connectorUrl: sim.url, authKeyId: AUDITOR.id, password: AUDITOR.password });
    try {
      return (await auditor.getLogEntries()).entries.map((e) => e.number);
    } finally {
      await auditor.close();
    }
  }

  beforeAll(async () => {
    writeFileSync(auditorFile(), `${AUDITOR.password}\n`, { mode: 0o600 });
    sim = await startSimulator({ host: '127.0.0.1', port: 0 });
    store = await newStore();
    const device = await auditedDevice(sim.url);
    objectId = device.objectId;
    await store.open((s) => s.keys.insertKey(keyRecord(KEY_ID, { handle: device.handle, publicKey: device.publicKey })));
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('matches the signatures recorded in the shared chain, keeps the entries and the progress in the database, and releases them on the device', async () => {
    await signDirectly('one');
    const seq = await recordSign();
    const first = await audit(store);
    expect(first.stdout).toMatch(
      new RegExp(
        `^serial ${sim.device.serial}: \\d+ new log entries\\n1 device key use\\(s\\) matched to kmsgate's audit log\\nOK: every key use on the device is accounted for\\n$`,
      ),
    );
    expect(first.code).toBe(0);
    const kept = await store.open(async (s) => ({ state: await s.deviceLogs.reconcileState(BACKEND), last: await s.deviceLogs.lastEntry(sim.device.serial) }));
    expect(kept.state).toEqual({ auditSeq: seq, carried: new Map() });
    // Released on the device: it shows only what came after the last entry kept.
    expect((await deviceLog()).every((n) => n > kept.last!.number)).toBe(true);

    await signDirectly('not recorded');
    const caught = await audit(store);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(
      /UNEXPLAINED: serial \d+ entry #\d+: SIGN_ECDSA on object 0x[0-9a-f]{4} by authentication key 0x0004 .*: signature not recorded by kmsgate\n$/,
    );
    const advanced = await store.open((s) => s.deviceLogs.lastEntry(sim.device.serial));
    expect(advanced!.number).toBeGreaterThan(kept.last!.number);
    // Reported once: kept in the database and released on the device.
    expect(await audit(store)).toMatchObject({ code: 0, stdout: expect.stringContaining(`serial ${sim.device.serial}: 0 new log entries\n`) });
  });

  it('two runs at once against one backend: one takes the lease, the other says so and exits 2; the entries are kept once', async () => {
    await signDirectly('raced');
    await recordSign();
    const gate = await gateProxy(sim.url);
    try {
      const holding = audit(store, gate.url);
      // The first run holds the backend's lease in the database while it reads the device.
      await gate.reached;
      const refused = await audit(store);
      expect(refused).toEqual({
        code: 2,
        stdout: '',
        stderr: `kmsgate: a gateway's device-log witness is reading backend '${BACKEND}' now; run this again in a minute\n`,
      });
      gate.open();
      const held = await holding;
      expect(held.stdout).toContain("1 device key use(s) matched to kmsgate's audit log\n");
      expect(held.code).toBe(0);
    } finally {
      await gate.close();
    }
    // Given up at the end, and nothing left to keep.
    const direct = new pg.Client({ connectionString: store.url });
    await direct.connect();
    expect((await direct.query('SELECT * FROM hsm_witness_lease')).rows).toEqual([]);
    await direct.end();
    expect(await audit(store)).toMatchObject({ code: 0, stdout: expect.stringContaining(`serial ${sim.device.serial}: 0 new log entries\n`) });
  });

  it('a database that does not answer: exit 1, one line, the device log left as it was', async () => {
    await signDirectly('waiting');
    const before = await deviceLog();
    expect(before.length).toBeGreaterThan(0);
    const r = await kmsgate(
      { KMSGATE_DATA_DIR: join(dir, 'nowhere') },
      '--config',
      unreachableConfig(),
      'hsm',
      'audit',
      '--connector',
      sim.url,
      '--password-file',
      auditorFile(),
    );
    expectOneLine(r, 1, /^kmsgate: PostgreSQL did not answer/);
    // Nothing released (reading the log adds the auditor's own entries after these).
    expect((await deviceLog()).slice(0, before.length)).toEqual(before);
  });

  it('a database migrated by a newer kmsgate: exit 2, one line, the device log left as it was', async () => {
    const newer = await newerStore();
    const before = await deviceLog();
    const r = await audit(newer);
    expectOneLine(r, 2, /migrated by a newer kmsgate \(schema version \d+; this one knows up to \d+\)/);
    expect((await deviceLog()).slice(0, before.length)).toEqual(before);
  });
});

describe('hsm backup and restore on PostgreSQL', () => {
  const SIGN_KEY = '0a000000-0000-4000-8000-00000000000a';
  const SYM_KEY = '0b000000-0000-4000-8000-00000000000b';
  let source: RunningSimulator;
  let origin: PgStore;
  const backupFile = () => join(dir, 'backup.json');
  const keyadmin = (url: string) => new YubiHsmClient({ connectorUrl: url, authKeyId: authKeyOf('keyadmin').id, password: secrets.password('keyadmin') });

  /** `kmsgate hsm setup` with the mnemonic: the layout, and the passwords the gateway needs in `secretsDir`. */
  async function setUp(sim: RunningSimulator, secretsDir: string): Promise<string> {
    const r = await kmsgate(
      { KMSGATE_DATA_DIR: join(dir, 'setup') },
      'hsm',
      'setup',
      '--connector',
      sim.url,
      '--mnemonic-file',
      join(dir, 'mnemonic'),
      '--secrets-dir',
      secretsDir,
    );
    expect(r.code).toBe(0);
    return r.stdout;
  }

  beforeAll(async () => {
    source = await startSimulator({ host: '127.0.0.1', port: 0 });
    await setUp(source, join(dir, 'source-secrets'));
    origin = await newStore();
    // The keys as the gateway makes them: generated by the key admin, recorded in the database.
    const admin = keyadmin(source.url);
    try {
      const signing = await admin.generateAsymmetricKey({
        label: SIGN_KEY.slice(0, 8),
        domains: 1,
        capabilities: Capability.SIGN_ECDSA | Capability.EXPORTABLE_UNDER_WRAP,
        algorithm: Algorithm.EC_P256,
      });
      const publicKey = spkiFromRawPublicKey('ECC_NIST_P256', (await admin.getPublicKey(signing.id)).publicKey);
      // A symmetric key is a wrap key named by its key id; its rotated material another.
      const wrapKey = () =>
        admin.generateWrapKey({
          id: 0,
          label: SYM_KEY,
          domains: 1,
          capabilities: Capability.WRAP_DATA | Capability.UNWRAP_DATA | Capability.EXPORTABLE_UNDER_WRAP,
          delegatedCapabilities: 0n,
          algorithm: Algorithm.AES256_CCM_WRAP,
        });
      const [first, second] = [await wrapKey(), await wrapKey()];
      await origin.open(async (s) => {
        await s.keys.insertKey(keyRecord(SIGN_KEY, { handle: `${signing.deviceSerial}:${signing.id}`, publicKey }), [{ TagKey: 'team', TagValue: 'ops' }]);
        await s.keys.insertAlias('alias/payments', SIGN_KEY, new Date(), 50);
        await s.keys.insertKey(keyRecord(SYM_KEY, { keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', handle: `${first.deviceSerial}:${first.id}` }));
        await s.rotations.recordRotation(SYM_KEY, `${second.deviceSerial}:${second.id}`, 'ON_DEMAND', new Date('2026-12-05T01:00:00Z'));
        await s.rotations.enable(SYM_KEY, 90, new Date('2026-12-05T02:00:00Z'));
        const log = await s.openAudit({ gateway: 'origin' });
        await log.append({ requestId: 'r-create', operation: 'CreateKey', keyId: SYM_KEY, decision: 'admin' });
        await log.close();
      });
    } finally {
      await admin.close();
    }
  });
  afterAll(async () => {
    await source?.close();
  });

  it('hsm backup reads every key of the backend from the database: aliases, tags, rotated materials, the schedule, and the chain head', async () => {
    const r = await origin.cli('hsm', 'backup', '--connector', source.url, '--mnemonic-file', join(dir, 'mnemonic'), '--out', backupFile());
    // Progress as on SQLite: a long device operation says what it is doing.
    expect(r.stderr).toMatch(
      new RegExp(`^\\[1/4\\] opening a session .*\\n\\[4/4\\] exporting key ${SYM_KEY} \\(object 0x[0-9a-f]{4}\\) and 1 rotated key material\\(s\\)…\\n$`, 's'),
    );
    expect(r.stdout).toBe(`backed up 2 key(s) of backend yubihsm from YubiHSM 2 serial ${source.device.serial} to ${backupFile()}\n`);
    expect(r.code).toBe(0);
    const body = openBackup(readFileSync(backupFile(), 'utf8'), secrets);
    const head = await origin.open(async (s) => (await s.audit.tail(1))[0]!);
    expect(body.auditHead).toEqual({ seq: head.seq, hash: head.hash });
    expect(body.keys.map((k) => k.keyId)).toEqual([SIGN_KEY, SYM_KEY]);
    expect(body.keys[0]).toMatchObject({ aliases: ['alias/payments'], tags: [{ TagKey: 'team', TagValue: 'ops' }], keySpec: 'ECC_NIST_P256' });
    expect(body.keys[1]).toMatchObject({
      keySpec: 'SYMMETRIC_DEFAULT',
      materials: [expect.objectContaining({ version: 1, rotatedAt: '2026-12-05T01:00:00.000Z', rotationType: 'ON_DEMAND' })],
      rotation: { periodDays: 90, anchorAt: '2026-12-05T02:00:00.000Z' },
    });
  });

  it('hsm restore onto a fresh device and a fresh database that a gateway serves: the gateway sees the keys within its staleness bound and signs with the restored key; the chain verifies and hsm audit matches', async () => {
    const target = await startSimulator({ host: '127.0.0.1', port: 0 });
    let gateway: GatewayProcess | undefined;
    try {
      // The backend as setup prints it (runtime password file included), on a database no gateway has written keys to.
      const fresh = await newStore((await setUp(target, join(dir, 'target-secrets'))).split('\n'));
      // The gateway runs on another host: its own data dir, holding the database's credential.key.
      const gatewayDir = join(dir, 'restored-gateway');
      mkdirSync(gatewayDir, { mode: 0o700 });
      copyFileSync(join(fresh.dataDir, 'credential.key'), join(gatewayDir, 'credential.key'));
      gateway = await startGatewayProcess('restored', {
        KMSGATE_CONFIG: fresh.config,
        KMSGATE_DATA_DIR: gatewayDir,
        KMS_DB_PATH: '',
        HOST: '127.0.0.1',
        PORT: '0',
      });
      const generated = await fresh.cli('api-key', 'generate', '--label', 'ops', '--role', 'admin', '--json');
      expect(generated.code).toBe(0);
      const apiKey = JSON.parse(generated.stdout) as GeneratedApiKey;
      await untilKnown(apiKey, gateway);
      const kms = kmsClient(gateway, apiKey);
      await expect(kms.send(new DescribeKeyCommand({ KeyId: SIGN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });

      const restored = await fresh.cli('hsm', 'restore', backupFile(), '--connector', target.url, '--mnemonic-file', join(dir, 'mnemonic'));
      expect(restored.stdout).toBe(
        `restored backend yubihsm onto YubiHSM 2 serial ${target.device.serial}: 3 key object(s) imported, 0 already there, 2 adopted into the store\n`,
      );
      expect(restored.stderr).toMatch(/\[7\/7\] adopting the keys into the store…\n$/);
      expect(restored.code).toBe(0);

      // The running gateway learns of them through the change feed, not at once: polled.
      await pollUntil(
        () =>
          kms.send(new DescribeKeyCommand({ KeyId: 'alias/payments' })).then(
            (r) => r.KeyMetadata?.KeyId,
            (e: Error) => e.name,
          ),
        (v) => v !== 'NotFoundException',
      );
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: 'alias/payments' }));
      const backup = openBackup(readFileSync(backupFile(), 'utf8'), secrets);
      const recorded = backup.keys[0]!;
      expect(Buffer.from(PublicKey!).toString('base64')).toBe(recorded.publicKey);
      const message = Buffer.from('signed by the restored key');
      const { Signature } = await kms.send(
        new SignCommand({ KeyId: 'alias/payments', Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      expect(verify('sha256', message, createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), Buffer.from(Signature!))).toBe(true);

      // Adopted whole: tags, the rotated material on the new device, the schedule; the device log is reconciled from the restore on.
      await fresh.open(async (s) => {
        expect(await s.keys.listTags(SIGN_KEY)).toEqual([{ TagKey: 'team', TagValue: 'ops' }]);
        expect(s.rotations.rotations(SYM_KEY)).toEqual([
          {
            version: 1,
            handle: `${target.device.serial}:${backup.keys[1]!.materials![0]!.objectId}`,
            rotatedAt: new Date('2026-12-05T01:00:00Z'),
            rotationType: 'ON_DEMAND',
          },
        ]);
        expect((await s.rotations.state(SYM_KEY)).schedule).toMatchObject({ periodDays: 90, anchorAt: new Date('2026-12-05T02:00:00Z') });
        const [restore] = await s.audit.records({ afterSeq: 0, operation: 'HsmRestore' });
        expect(restore).toMatchObject({ decision: 'admin', keyId: null });
        expect(await s.deviceLogs.reconcileState(BACKEND)).toEqual({ auditSeq: restore!.seq, carried: new Map() });
      });
      const verified = await fresh.cli('audit', 'verify', '--json');
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, chain: { ok: true } });
      expect(verified.code).toBe(0);
      // The one signature since the restore is the device's one key use: hsm audit on the database matches it.
      const audited = await fresh.cli('hsm', 'audit', '--connector', target.url, '--password-file', join(dir, 'target-secrets', 'auditor.password'));
      expect(audited.stdout).toContain("1 device key use(s) matched to kmsgate's audit log\nOK: every key use on the device is accounted for\n");
      expect(audited.code).toBe(0);
      expect(await gateway.stop()).toBe(0);
    } finally {
      closeKmsClients();
      await gateway?.kill();
      await target.close();
    }
  });

  it('hsm backup and hsm restore with a database that does not answer, or one a newer kmsgate migrated: exit 1 or 2, one line, no file, the device not asked', async () => {
    const out = join(dir, 'not-written.json');
    const gate = await gateProxy(source.url);
    try {
      const unreachable = await kmsgate(
        { KMSGATE_DATA_DIR: join(dir, 'nowhere') },
        '--config',
        unreachableConfig(),
        'hsm',
        'backup',
        '--connector',
        gate.url,
        '--mnemonic-file',
        join(dir, 'mnemonic'),
        '--out',
        out,
      );
      expectOneLine(unreachable, 1, /^kmsgate: PostgreSQL did not answer/);
      const newer = await (await newerStore()).cli('hsm', 'backup', '--connector', gate.url, '--mnemonic-file', join(dir, 'mnemonic'), '--out', out);
      expectOneLine(newer, 2, /migrated by a newer kmsgate/);
      expect(existsSync(out)).toBe(false);
      const restoreArgs = ['hsm', 'restore', backupFile(), '--connector', gate.url, '--mnemonic-file', join(dir, 'mnemonic')];
      expectOneLine(
        await kmsgate({ KMSGATE_DATA_DIR: join(dir, 'nowhere') }, '--config', unreachableConfig(), ...restoreArgs),
        1,
        /^kmsgate: PostgreSQL did not answer/,
      );
      expectOneLine(await (await newerStore()).cli(...restoreArgs), 2, /migrated by a newer kmsgate/);
      expect(gate.requests()).toBe(0);
      gate.open();
    } finally {
      await gate.close();
    }
  });
});
