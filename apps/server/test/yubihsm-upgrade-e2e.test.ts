import { execFile } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  ALL_CAPABILITIES,
  AUDITED_COMMANDS,
  Algorithm,
  AuditMode,
  BACKUP_WRAP_KEY,
  Capability as C,
  CeremonySecrets,
  ObjectType,
  TEMPORARY_ADMIN_ID,
  YubiHsmClient,
  authKeyOf,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { REPO_ROOT } from '../src/gateway';
import { startTestGateway, type Credentials } from './helpers/gateway';

/**
 * `kmsgate hsm upgrade` on a device set up before RSA encryption keys (commit 76fecc2), whose
 * runtime key lacks decrypt-oaep: the old layout is built here with the device protocol, the
 * upgrade runs as a real process, and a real gateway (port 0, SQLite, @aws-sdk/client-kms) with an
 * unchanged configuration then decrypts with RSA and still signs with the keys made before.
 */
const BIN = join(REPO_ROOT, 'node_modules', '.bin', 'kmsgate');
const MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title';
const OTHER =
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless';
const secrets = CeremonySecrets.fromMnemonic(MNEMONIC);

/** The runtime key's capabilities before 76fecc2 (`git show 76fecc2 -- packages/yubihsm/src/ceremony/layout.ts`). */
const PRE_OAEP_RUNTIME =
  C.SIGN_PKCS | C.SIGN_PSS | C.SIGN_ECDSA | C.SIGN_EDDSA | C.DERIVE_ECDH | C.SIGN_HMAC | C.VERIFY_HMAC | C.WRAP_DATA | C.UNWRAP_DATA | C.GET_PSEUDO_RANDOM;

let dir: string;
const files = { mnemonic: '', other: '', secrets: '' };

function kmsgate(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(BIN, args, { cwd: REPO_ROOT, env: { ...process.env, KMSGATE_DATA_DIR: dataDir }, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const upgrade = (url: string, ...more: string[]) =>
  kmsgate(join(dir, 'data'), 'hsm', 'upgrade', '--connector', url, '--mnemonic-file', files.mnemonic, ...more);

function client(url: string, id: number, password: string): YubiHsmClient {
  return new YubiHsmClient({ connectorUrl: url, authKeyId: id, password, maxSessions: 1 });
}

async function using<T>(c: YubiHsmClient, f: (c: YubiHsmClient) => Promise<T>): Promise<T> {
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}

const asAdmin = <T>(url: string, f: (c: YubiHsmClient) => Promise<T>) => using(client(url, 2, secrets.password('admin')), f);

/**
 * A device as `kmsgate hsm setup` left it before 76fecc2, made with the device protocol: the same
 * objects, labels and passwords, the runtime key without decrypt-oaep. `adminCapabilities` builds
 * an admin key an older version might have made with fewer capabilities.
 */
async function provisionPre76fecc2(url: string, adminCapabilities = ALL_CAPABILITIES): Promise<void> {
  const label = (role: string) => `kmsgate:${role}:${secrets.fingerprint}`;
  await using(client(url, 1, 'password'), (factory) =>
    factory.putAuthenticationKey({
      id: 2,
      label: label('admin'),
      domains: 0xffff,
      capabilities: adminCapabilities,
      delegatedCapabilities: ALL_CAPABILITIES,
      password: secrets.password('admin'),
    }),
  );
  await asAdmin(url, async (admin) => {
    const keyadmin = authKeyOf('keyadmin');
    await admin.putAuthenticationKey({ ...keyadmin, label: label('keyadmin'), domains: 1, password: secrets.password('keyadmin') });
    await admin.putAuthenticationKey({
      id: 4,
      label: label('runtime'),
      domains: 1,
      capabilities: PRE_OAEP_RUNTIME,
      delegatedCapabilities: 0n,
      password: secrets.password('runtime'),
    });
    await admin.putAuthenticationKey({
      id: 5,
      label: label('auditor'),
      domains: 0xffff,
      capabilities: C.GET_LOG_ENTRIES | C.GET_OPTION,
      delegatedCapabilities: 0n,
      password: secrets.password('auditor'),
    });
    const key = secrets.wrapKey();
    await admin.putWrapKey({
      id: 0x0100,
      label: label('backup-wrap'),
      domains: 1,
      capabilities: C.EXPORT_WRAPPED | C.IMPORT_WRAPPED,
      delegatedCapabilities: BACKUP_WRAP_KEY.delegatedCapabilities,
      algorithm: Algorithm.AES256_CCM_WRAP,
      key,
    });
    await admin.setCommandAudit(new Map(AUDITED_COMMANDS.map((c) => [c, AuditMode.ON])));
    await admin.setForceAudit(AuditMode.ON);
    await admin.deleteObject(1, ObjectType.AUTHENTICATION_KEY);
  });
}

async function runtimeInfo(url: string) {
  return asAdmin(url, (a) => a.getObjectInfo(4, ObjectType.AUTHENTICATION_KEY));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-upgrade-'));
  files.mnemonic = join(dir, 'mnemonic.txt');
  files.other = join(dir, 'other.txt');
  files.secrets = join(dir, 'secrets');
  writeFileSync(files.mnemonic, `${MNEMONIC}\n`, { mode: 0o600 });
  writeFileSync(files.other, `${OTHER}\n`, { mode: 0o600 });
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  // What the old setup wrote for the gateway.
  mkdirSync(files.secrets, { mode: 0o700 });
  for (const role of ['runtime', 'keyadmin'] as const) writeFileSync(join(files.secrets, `${role}.password`), `${secrets.password(role)}\n`, { mode: 0o600 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('upgrades a pre-76fecc2 device in place: the unchanged gateway configuration then decrypts with RSA and the old keys still sign', async () => {
  const sim: RunningSimulator = await startSimulator({ host: '127.0.0.1', port: 0 });
  const dataDir = join(dir, 'gateway');
  mkdirSync(dataDir, { mode: 0o700 });
  try {
    await provisionPre76fecc2(sim.url);
    const backend = {
      id: 'yubihsm',
      type: 'yubihsm',
      connectorUrl: sim.url,
      serial: sim.device.serial,
      authKeyId: 4,
      passwordFile: join(files.secrets, 'runtime.password'),
      keyAdmin: { authKeyId: 3, passwordFile: join(files.secrets, 'keyadmin.password') },
      domains: [1],
    };

    // Before: keys are created and sign, RSA Encrypt works on the host, but Decrypt fails in the device.
    let t = await startTestGateway({ dataDir, backends: [backend] });
    const admin: Credentials = t.admin;
    let kms: KMSClient = t.client(admin);
    const signers: { keyId: string; spec: string; algorithm: string; hash: string }[] = [];
    for (const [spec, algorithm] of [
      ['RSA_2048', 'RSASSA_PSS_SHA_256'],
      ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ] as const) {
      const keyId = (await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
      signers.push({ keyId, spec, algorithm, hash: 'sha256' });
    }
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const sealed = await kms.send(
      new EncryptCommand({ KeyId: rsa, Plaintext: Buffer.from('made before the upgrade'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    );
    await expect(
      kms.send(new DecryptCommand({ KeyId: rsa, CiphertextBlob: sealed.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })),
    ).rejects.toMatchObject({ name: 'KMSInternalException' });
    await signAll(kms, signers);
    await t.stop({ keepData: true });

    // Setup run again names the gap and the command that closes it.
    const setup = await kmsgate(
      dataDir,
      'hsm',
      'setup',
      '--connector',
      sim.url,
      '--mnemonic-file',
      files.mnemonic,
      '--secrets-dir',
      join(dir, 'setup-secrets'),
    );
    expect(setup.code).toBe(2);
    expect(setup.stderr).toContain('authentication key 0x0004 (runtime): capabilities: add decrypt-oaep');
    expect(setup.stderr).toContain('Run npx kmsgate hsm upgrade');

    const passwordFiles = ['runtime', 'keyadmin'].map((r) => join(files.secrets, `${r}.password`));
    const before = passwordFiles.map((f) => [readFileSync(f, 'utf8'), statSync(f).mtimeMs]);
    const oldRuntime = await runtimeInfo(sim.url);

    const dry = await upgrade(sim.url, '--dry-run');
    expect(dry).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        `YubiHSM 2 serial ${sim.device.serial}, firmware 2.4.0, set up from the mnemonic with fingerprint ${secrets.fingerprint}:`,
        '  authentication key 0x0002 (admin): up to date',
        '  authentication key 0x0003 (keyadmin): up to date',
        '  authentication key 0x0005 (auditor): up to date',
        '  wrap key 0x0100 (backup): up to date',
        '  device log settings: up to date',
        '  authentication key 0x0004 (runtime): replace (capabilities: add decrypt-oaep)',
        'dry run: 1 change(s) planned, nothing was changed',
        '',
      ].join('\n'),
    });
    expect(await runtimeInfo(sim.url)).toEqual(oldRuntime);

    const done = await upgrade(sim.url);
    expect(done.code).toBe(0);
    expect(done.stderr).toBe(
      [
        '[1/4] deleting authentication key 0x0004 (runtime)…',
        '[2/4] putting authentication key 0x0004 (runtime) with its password from the mnemonic…',
        '[3/4] checking authentication key 0x0004 (runtime) opens a session…',
        '[4/4] comparing the device with the layout again…',
        '',
      ].join('\n'),
    );
    expect(done.stdout).toContain("upgraded: 1 change(s) made; every object kept its ID and password, so the gateway's configuration is unchanged\n");
    for (const role of ['admin', 'keyadmin', 'runtime', 'auditor'] as const) expect(done.stdout + done.stderr).not.toContain(secrets.password(role));
    expect(done.stdout + done.stderr).not.toContain(MNEMONIC.split(' ').slice(0, 3).join(' '));

    // Least privilege: exactly the layout's capability set, nothing delegated, same ID, label and domains.
    const runtime = await runtimeInfo(sim.url);
    expect(runtime).toMatchObject({ id: 4, capabilities: authKeyOf('runtime').capabilities, delegatedCapabilities: 0n, domains: 1, label: oldRuntime.label });
    expect(runtime.capabilities & ~PRE_OAEP_RUNTIME).toBe(C.DECRYPT_OAEP);
    expect(passwordFiles.map((f) => [readFileSync(f, 'utf8'), statSync(f).mtimeMs])).toEqual(before);

    // Idempotent.
    const again = await upgrade(sim.url);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/: up to date\nnothing to do: the device matches the layout\n$/);
    expect(again.stdout).not.toContain('replace');

    // After: the same configuration; the ciphertext made before opens, RSA round trips, the old keys sign.
    t = await startTestGateway({ dataDir, backends: [backend] });
    kms = t.client(admin);
    const opened = await kms.send(new DecryptCommand({ KeyId: rsa, CiphertextBlob: sealed.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('made before the upgrade');
    const publicKey = createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: rsa }))).PublicKey!), format: 'der', type: 'spki' });
    const outside = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from('from node:crypto'));
    const fromOutside = await kms.send(new DecryptCommand({ KeyId: rsa, CiphertextBlob: outside, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    expect(Buffer.from(fromOutside.Plaintext!).toString()).toBe('from node:crypto');
    const fresh = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const c = await kms.send(new EncryptCommand({ KeyId: fresh, Plaintext: Buffer.from('after'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    const p = await kms.send(new DecryptCommand({ KeyId: fresh, CiphertextBlob: c.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    expect(Buffer.from(p.Plaintext!).toString()).toBe('after');
    await signAll(kms, signers);
    await t.stop({ keepData: true });
  } finally {
    await sim.close();
  }
}, 600_000);

/** Every object of the layout as the device describes it (for "nothing changed"). */
async function snapshot(url: string) {
  return asAdmin(url, async (a) => ({
    objects: await a.listObjects(),
    infos: await Promise.all([...[2, 3, 4, 5].map((id) => a.getObjectInfo(id, ObjectType.AUTHENTICATION_KEY)), a.getObjectInfo(0x0100, ObjectType.WRAP_KEY)]),
  }));
}

/** What the layout says of each object, without the device's write counters. */
function shape(s: Awaited<ReturnType<typeof snapshot>>) {
  return s.infos.map(({ id, type, algorithm, capabilities, delegatedCapabilities, domains, label }) => ({
    id,
    type,
    algorithm,
    capabilities,
    delegatedCapabilities,
    domains,
    label,
  }));
}

describe('bad input: one line, a clear exit code, nothing changed', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('an unreachable connector (exit 1) and a device kmsgate never set up (exit 2)', async () => {
    const down = await upgrade('http://127.0.0.1:1');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^kmsgate: connector http:\/\/127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)\n$/);
    expect(down.stdout).toBe('');
    const fresh = await upgrade(sim.url);
    expect(fresh).toMatchObject({ code: 2, stdout: '' });
    expect(fresh.stderr).toBe(
      'kmsgate: the factory authentication key 1 still opens a session: this device was never set up by kmsgate, or its setup was interrupted; ' +
        'run npx kmsgate hsm setup instead; nothing was changed\n',
    );
  });

  it('a wrong mnemonic, a changed password, a foreign label, another algorithm, a full device log', async () => {
    await provisionPre76fecc2(sim.url);
    const start = await snapshot(sim.url);
    const refused = async (expected: string, ...more: string[]) => {
      const r = await upgrade(sim.url, ...more);
      expect(r).toEqual({ code: 2, stdout: '', stderr: `kmsgate: ${expected}\n` });
    };

    await refused(
      `the device refuses this mnemonic's admin key 0x0002 (fingerprint ${CeremonySecrets.fromMnemonic(OTHER).fingerprint}): a wrong mnemonic, or a device set up from another one; nothing was changed`,
      '--mnemonic-file',
      files.other,
    );
    expect(await snapshot(sim.url)).toEqual(start);

    const replace = (id: number, type: number, put: (a: YubiHsmClient) => Promise<unknown>) =>
      asAdmin(sim.url, async (a) => {
        await a.deleteObject(id, type);
        await put(a);
      });
    const runtime = start.infos[2]!;
    const oldRuntime = (password: string) =>
      replace(4, ObjectType.AUTHENTICATION_KEY, (a) =>
        a.putAuthenticationKey({
          id: 4,
          label: new TextDecoder().decode(runtime.label),
          domains: 1,
          capabilities: PRE_OAEP_RUNTIME,
          delegatedCapabilities: 0n,
          password,
        }),
      );
    await oldRuntime('not the derived one');
    const changed = await snapshot(sim.url);
    await refused(
      "authentication key 0x0004 (runtime) does not open a session with this mnemonic's password: putting it again would change the password its users hold; nothing was changed",
    );
    expect(await snapshot(sim.url)).toEqual(changed);
    await oldRuntime(secrets.password('runtime'));

    const auditor = start.infos[3]!;
    const auditorWith = (label: string) =>
      replace(5, ObjectType.AUTHENTICATION_KEY, (a) => a.putAuthenticationKey({ ...auditor, label, password: secrets.password('auditor') }));
    await auditorWith('someone-else');
    await refused(
      `authentication key 0x0005 (auditor) on the device is labelled "someone-else", not "kmsgate:auditor:${secrets.fingerprint}": it is not kmsgate's from this mnemonic; nothing was changed`,
    );
    await auditorWith(`kmsgate:auditor:${secrets.fingerprint}`);

    const wrap = start.infos[4]!;
    const wrapWith = (algorithm: number, key: Uint8Array) =>
      replace(0x0100, ObjectType.WRAP_KEY, (a) => a.putWrapKey({ ...wrap, label: new TextDecoder().decode(wrap.label), algorithm, key }));
    await wrapWith(Algorithm.AES128_CCM_WRAP, new Uint8Array(16).fill(7));
    await refused(
      "wrap key 0x0100 (backup) on the device is an object of algorithm AES128_CCM_WRAP, not AES256_CCM_WRAP: it is not kmsgate's; nothing was changed",
    );
    await wrapWith(Algorithm.AES256_CCM_WRAP, secrets.wrapKey());

    // Force audit refuses logged commands once the log is full: the upgrade must fit, or not start.
    const info = await asAdmin(sim.url, async (a) => {
      for (let i = (await a.deviceInfo()).logUsed; i < 61; i++) await a.deleteObject(0x7777, ObjectType.OPAQUE).catch(() => undefined);
      return a.deviceInfo();
    });
    expect(info.logTotal - info.logUsed).toBe(1);
    const full = await snapshot(sim.url);
    await refused('the device log has 1 free entries and the upgrade writes 2: release it with npx kmsgate hsm audit first; nothing was changed');
    expect(await snapshot(sim.url)).toEqual(full);
    await using(client(sim.url, 5, secrets.password('auditor')), async (a) => {
      const { entries } = await a.getLogEntries();
      await a.setLogIndex(entries[entries.length - 1]!.number);
    });
    expect((await upgrade(sim.url)).code).toBe(0);
    expect((await runtimeInfo(sim.url)).capabilities).toBe(authKeyOf('runtime').capabilities);
  });

  it('an admin key that differs is replaced through a temporary admin key; an upgrade stopped half-way through it completes on the next run', async () => {
    const older = await startSimulator({ host: '127.0.0.1', port: 0 });
    try {
      await provisionPre76fecc2(older.url, ALL_CAPABILITIES & ~C.SIGN_SSH_CERTIFICATE);
      const r = await upgrade(older.url);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('  authentication key 0x0002 (admin): replace (capabilities: add sign-ssh-certificate)\n');
      expect(r.stderr).toContain("[1/10] putting a temporary admin key 0xfffe with the admin's password, so the device keeps a working admin key…\n");
      expect(r.stderr).toContain('[2/10] checking the temporary admin key 0xfffe opens a session…\n[3/10] deleting authentication key 0x0002 (admin)…\n');
      expect(r.stderr).toContain('[6/10] deleting the temporary admin key 0xfffe…\n');
      const infos = await snapshot(older.url);
      expect(infos.infos[0]).toMatchObject({ capabilities: ALL_CAPABILITIES, delegatedCapabilities: ALL_CAPABILITIES });
      expect(infos.objects.some((o) => o.id === TEMPORARY_ADMIN_ID)).toBe(false);

      // Stopped after the old admin key went and before the new one came: only the temporary key can act.
      await asAdmin(older.url, (a) =>
        a.putAuthenticationKey({
          id: TEMPORARY_ADMIN_ID,
          label: `kmsgate:admin-upgrade:${secrets.fingerprint}`,
          domains: 0xffff,
          capabilities: ALL_CAPABILITIES,
          delegatedCapabilities: ALL_CAPABILITIES,
          password: secrets.password('admin'),
        }),
      );
      await using(client(older.url, TEMPORARY_ADMIN_ID, secrets.password('admin')), (temp) => temp.deleteObject(2, ObjectType.AUTHENTICATION_KEY));
      const resumed = await upgrade(older.url);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('  authentication key 0x0002 (admin): put (missing)\n');
      expect(resumed.stdout).toContain('  temporary admin key 0xfffe: delete (left by an interrupted upgrade)\n');
      expect(shape(await snapshot(older.url))).toEqual(shape(infos));
      expect((await upgrade(older.url)).stdout).toContain('nothing to do');
    } finally {
      await older.close();
    }
  });
});

async function signAll(kms: KMSClient, signers: { keyId: string; algorithm: string; hash: string }[]): Promise<void> {
  for (const s of signers) {
    const message = Buffer.from(`signed by ${s.keyId}`);
    const { Signature } = await kms.send(
      new SignCommand({ KeyId: s.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: s.algorithm as 'ECDSA_SHA_256' }),
    );
    const key = createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: s.keyId }))).PublicKey!), format: 'der', type: 'spki' });
    const pss = s.algorithm.startsWith('RSASSA_PSS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {};
    expect(verify(s.hash, message, { key, ...pss }, Buffer.from(Signature!))).toBe(true);
  }
}
