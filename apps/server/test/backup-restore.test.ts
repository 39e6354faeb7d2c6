import { execFile, spawn } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  ListAliasesCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { run as runCli } from '@kmsgate/cli';
import { openDb, readAuditRecords, readInstallation, verifyAuditChain, verifyAuditJsonl, type AuditRecord } from '@kmsgate/store';
import { REPO_ROOT } from '../src/gateway';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * `kmsgate backup` taken by a separate process while four clients sign and encrypt without pause,
 * restored into a new data dir that a new gateway then serves: the old credentials, keys and aliases
 * work, the audit chain and its mirror verify, and the restored log holds exactly the live log up to
 * the backup's snapshot (every request answered before the backup started, none sent after it said
 * it had its snapshot). Then each refusal of `kmsgate restore`: exit 2, one line, nothing
 * changed.
 */
const BIN = join(REPO_ROOT, 'node_modules', '.bin', 'kmsgate');

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kmsgate-backup-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function kmsgateProcess(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(BIN, args, { cwd: root, env: { ...process.env, KMSGATE_DATA_DIR: dataDir, KMS_DB_PATH: '' }, encoding: 'utf8' }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** `kmsgate …` as a real process, with its stderr lines as events to wait for. */
function spawnKmsgate(dataDir: string, ...args: string[]) {
  const child = spawn(BIN, args, { cwd: root, env: { ...process.env, KMSGATE_DATA_DIR: dataDir, KMS_DB_PATH: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => child.on('close', (code) => ok({ code, stdout, stderr })));
  return {
    exited,
    /** The first stderr line matching `pattern`; rejects if the process ends without one. */
    line(pattern: RegExp): Promise<RegExpExecArray> {
      return new Promise((ok, fail) => {
        const look = () => {
          // Whole lines only: a line still being written could match with a number cut short.
          for (const l of stderr.split('\n').slice(0, -1)) {
            const m = pattern.exec(l);
            if (m) {
              child.stderr.off('data', look);
              ok(m);
              return;
            }
          }
        };
        child.stderr.on('data', look);
        void exited.then(() => {
          look();
          fail(new Error(`kmsgate ${args.join(' ')} ended without a line matching ${pattern}:\n${stderr}`));
        });
      });
    },
  };
}

async function kmsgate(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { KMSGATE_DATA_DIR: dataDir },
  });
  return { code, stdout, stderr };
}

/** Every file of a directory with the SHA-256 of its bytes: "nothing changed" is this, before and after. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((n) => [
        n,
        createHash('sha256')
          .update(readFileSync(join(dir, n)))
          .digest('hex'),
      ]),
  );
}

describe('a backup taken under load', () => {
  let backupDir: string;
  let restoredDir: string;
  let snapshotSeq: number;
  let keyId: string;
  let publicKey: Buffer;
  let credentials: TestGateway['admin'];
  let signer: TestGateway['admin'];
  /** Every request that got a 200, in the order the answers came. */
  const answered: Answered[] = [];
  /** The original gateway's whole audit log, after the load stopped. */
  let original: AuditRecord[];
  /** A ciphertext answered before the backup started, with its plaintext. */
  let sealedBefore: { ciphertext: Uint8Array; plaintext: string };

  interface Answered {
    requestId: string;
    operation: 'Sign' | 'Encrypt';
    /** The answer came before `kmsgate backup` was started: its record is in the snapshot. */
    beforeBackup: boolean;
    /** Sent after the backup said it had taken its snapshot: its record is not in it. */
    afterSnapshot: boolean;
    /** The answer came while the backup process ran. */
    duringBackup: boolean;
  }

  beforeAll(async () => {
    const t = await startTestGateway();
    credentials = t.admin;
    signer = t.newKey('signer', 'load');
    const admin = t.client();
    keyId = (await admin.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const encKeyId = (await admin.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/load-sign', TargetKeyId: keyId }));
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/load-encrypt', TargetKeyId: encKeyId }));
    publicKey = Buffer.from((await admin.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!);
    backupDir = join(root, 'backup');

    // Four clients with the signer's SigV4 credentials, each alternating Sign and Encrypt, until
    // the backup process has exited. What they see is classified by the backup's own events.
    const kms = t.client(signer);
    const phase = { started: false, snapshotSeen: false, exited: false };
    // Until the backup has exited and a few requests sent after its snapshot were answered.
    const loading = () => !phase.exited || answered.filter((a) => a.afterSnapshot).length < 8;
    let reached40: () => void;
    const fortyAnswered = new Promise<void>((ok) => {
      reached40 = ok;
    });
    const worker = async (w: number) => {
      for (let i = 0; loading(); i++) {
        const afterSnapshot = phase.snapshotSeen;
        const plaintext = `load ${w}.${i}`;
        let requestId: string | undefined;
        let operation: Answered['operation'];
        if (i % 2 === 0) {
          operation = 'Sign';
          const r = await kms.send(new SignCommand({ KeyId: 'alias/load-sign', Message: Buffer.from(plaintext), SigningAlgorithm: 'ECDSA_SHA_256' }));
          requestId = r.$metadata.requestId;
        } else {
          operation = 'Encrypt';
          const r = await kms.send(new EncryptCommand({ KeyId: 'alias/load-encrypt', Plaintext: Buffer.from(plaintext) }));
          requestId = r.$metadata.requestId;
          if (!phase.started) sealedBefore = { ciphertext: r.CiphertextBlob!, plaintext };
        }
        answered.push({ requestId: requestId!, operation, beforeBackup: !phase.started, afterSnapshot, duringBackup: phase.started && !phase.exited });
        if (answered.length === 40) reached40();
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    // The issue's case: after ~40 requests everything sat in kms.db-wal.
    await fortyAnswered;
    expect(existsSync(join(t.dataDir, 'kms.db-wal'))).toBe(true);

    phase.started = true;
    const backup = spawnKmsgate(t.dataDir, 'backup', '--out', backupDir);
    const snapshot = backup.line(/^store: \d+ keys, \d+ API keys, audit records 1-(\d+)$/).then((m) => {
      phase.snapshotSeen = true;
      return Number(m[1]);
    });
    const backupDone = await backup.exited;
    phase.exited = true;
    await load;
    original = readAuditRecords(t.db, { afterSeq: 0 });
    await t.stop();
    expect(backupDone).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^backup of installation [0-9a-f]{32} in .*: 2 keys, 2 API keys, audit records up to \d+\n$/),
    });
    expect(backupDone.stderr).toMatch(/^copying the store .* \(SQLite online backup, one snapshot\) …$/m);
    snapshotSeq = await snapshot;

    restoredDir = join(root, 'restored');
    const restore = await kmsgate(restoredDir, 'restore', backupDir);
    expect(restore.stderr).toMatch(/^checksums: \d files match manifest\.json$/m);
    expect(restore.stderr).toMatch(/^audit chain: \d+ records verify, head [0-9a-f]{64}$/m);
    expect(restore).toMatchObject({ code: 0, stdout: expect.stringMatching(/^restored installation [0-9a-f]{32} \(backup of .*\) into .*restored\n$/) });
  });

  it('holds the store as of one commit, whatever was still in kms.db-wal, and its manifest says so', () => {
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
    // The embedded simulators' device files come along (tee-sim's too, once it has written one).
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(['audit.jsonl', 'credential.key', 'kms.db', 'yubihsm-sim.json']));
    const others = Object.keys(manifest.files).filter((n) => !['audit.jsonl', 'credential.key', 'kms.db'].includes(n));
    expect(others.filter((n) => !/-sim\.json(\.rpmb)?$/.test(n))).toEqual([]);
    expect(manifest.store).toMatchObject({ keys: 2, apiKeys: 2, auditHeadSeq: snapshotSeq });
    expect(readdirSync(backupDir).filter((n) => /-wal$|-shm$/.test(n))).toEqual([]);
  });

  it('was taken while both operations were answered, and every answer has its record in the live log', () => {
    const during = answered.filter((a) => a.duringBackup);
    expect(new Set(during.map((a) => a.operation))).toEqual(new Set(['Sign', 'Encrypt']));
    expect(answered.some((a) => a.afterSnapshot)).toBe(true);
    const logged = new Set(original.map((r) => r.requestId));
    expect(answered.filter((a) => !logged.has(a.requestId))).toEqual([]);
  });

  it('restores the log up to the snapshot exactly: everything answered before the backup, nothing sent after its snapshot', () => {
    const db = openDb(join(restoredDir, 'kms.db'));
    let restored: AuditRecord[];
    try {
      restored = readAuditRecords(db, { afterSeq: 0 });
    } finally {
      db.close();
    }
    // The live log's first records, byte for byte (same hashes), then the restore's own admin record.
    expect(restored.slice(0, -1)).toEqual(original.slice(0, snapshotSeq));
    expect(restored.at(-1)).toMatchObject({ seq: snapshotSeq + 1, operation: 'kmsgate restore', decision: 'admin' });
    const inBackup = new Set(restored.map((r) => r.requestId));
    const before = answered.filter((a) => a.beforeBackup);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(before.filter((a) => !inBackup.has(a.requestId))).toEqual([]);
    expect(answered.filter((a) => a.afterSnapshot && inBackup.has(a.requestId))).toEqual([]);
  });

  it('restores into a gateway that serves the old credentials, keys and aliases, with an audit chain that verifies', async () => {
    const db = openDb(join(restoredDir, 'kms.db'));
    try {
      const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
      expect(readInstallation(db).id).toBe(manifest.installationId);
      expect(verifyAuditChain(db)).toMatchObject({ ok: true, count: snapshotSeq + 1 });
      expect(verifyAuditJsonl(db, join(restoredDir, 'audit.jsonl'))).toMatchObject({ ok: true, lastSeq: snapshotSeq + 1 });
    } finally {
      db.close();
    }
    const t = await startTestGateway({ dataDir: restoredDir });
    try {
      // The signer's SigV4 pair (unsealed with the restored credential.key) and its x-api-key.
      const kms = t.client(signer);
      const message = Buffer.from('signed by the restored gateway');
      const { Signature } = await kms.send(new SignCommand({ KeyId: 'alias/load-sign', Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(verify('sha256', message, createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), Signature!)).toBe(true);
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: sealedBefore.ciphertext }));
      expect(Buffer.from(Plaintext!).toString()).toBe(sealedBefore.plaintext);
      const byApiKey = await t.call('GetPublicKey', { KeyId: 'alias/load-sign' }, { 'x-api-key': signer.apiKey });
      expect(byApiKey.status).toBe(200);
      expect(Buffer.from(byApiKey.json.PublicKey, 'base64')).toEqual(publicKey);
      expect((await t.client(credentials).send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName)).toEqual(
        expect.arrayContaining(['alias/load-sign', 'alias/load-encrypt']),
      );
    } finally {
      await t.stop({ keepData: true });
    }
    const verified = await kmsgateProcess(restoredDir, 'audit', 'verify', '--jsonl');
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: \d+ records, hash chain intact/) });
  });

  describe('restore refuses, with exit 2 and one line, and changes nothing', () => {
    const copyOfBackup = (name: string) => {
      const dir = join(root, name);
      cpSync(backupDir, dir, { recursive: true });
      return dir;
    };

    it.each([
      ['a directory that is no backup', () => mkdtempSync(join(root, 'empty-')), /is not a complete kmsgate backup: it has no manifest\.json/],
      [
        'an incomplete backup (credential.key missing)',
        () => {
          const dir = copyOfBackup('incomplete');
          unlinkSync(join(dir, 'credential.key'));
          return dir;
        },
        /is incomplete: credential\.key is missing/,
      ],
      [
        'an altered backup (a byte appended to kms.db)',
        () => {
          const dir = copyOfBackup('altered');
          appendFileSync(join(dir, 'kms.db'), 'x');
          return dir;
        },
        /was altered or damaged: kms\.db does not match the checksum in manifest\.json/,
      ],
      [
        'a manifest that lists a path, not a file name',
        () => {
          const dir = copyOfBackup('escaping');
          const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
          manifest.files['../outside'] = manifest.files['credential.key'];
          writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
          return dir;
        },
        /manifest\.json is not a kmsgate-backup\/1 manifest: files\.\.\.\/outside: /,
      ],
    ])('%s', async (_what, make, line) => {
      const target = join(root, `target-${Math.random().toString(36).slice(2)}`);
      const r = await kmsgate(target, 'restore', make());
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('kmsgate: ')),
      ).toHaveLength(1);
      expect(r.stderr).toMatch(line);
      expect(r.code).toBe(2);
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(root).filter((n) => n.includes('.restore-'))).toEqual([]);
    });

    it('a backup of another installation over an existing data dir', async () => {
      const other = join(root, 'other-installation');
      openDb(join(other, 'kms.db')).close();
      const before = snapshot(other);
      const r = await kmsgate(other, 'restore', backupDir);
      expect(r.stderr).toMatch(
        /^kmsgate: the backup is of installation [0-9a-f]{32}, but .*other-installation\/kms\.db belongs to installation [0-9a-f]{32}: restore into that installation's data dir, or move .* away first\n$/m,
      );
      expect(r.code).toBe(2);
      expect(snapshot(other)).toEqual(before);
    });

    it('while a process has the store open (the gateway running)', async () => {
      const t = await startTestGateway({ dataDir: restoredDir });
      try {
        // The gateway itself writes to its store meanwhile; what must not change is which files are
        // there. (Names only: reading a file SQLite has open in this process would drop its locks.)
        const before = readdirSync(restoredDir).sort();
        const r = await kmsgateProcess(restoredDir, 'restore', backupDir);
        expect(r.stderr).toMatch(new RegExp(`^kmsgate: .*restored/kms\\.db is open in process ${process.pid}: stop the gateway`, 'm'));
        expect(r.code).toBe(2);
        expect(readdirSync(restoredDir).sort()).toEqual(before);
        expect(readdirSync(root).filter((n) => n.includes('.before-restore-') || n.includes('.restore-'))).toEqual([]);
      } finally {
        await t.stop({ keepData: true });
      }
    });

    it("into a data dir whose parent the user may not write (the service user, with systemd's /var/lib)", async () => {
      // Not as root, who may write anywhere: as nobody, reading a copy of the backup it owns.
      const base = mkdtempSync(join(tmpdir(), 'kmsgate-restore-parent-'));
      try {
        chmodSync(base, 0o755);
        const parent = join(base, 'var-lib');
        mkdirSync(parent, { mode: 0o755 });
        const copy = join(base, 'backup');
        cpSync(backupDir, copy, { recursive: true });
        const asRoot = process.getuid!() === 0;
        if (asRoot) for (const p of [copy, ...readdirSync(copy).map((n) => join(copy, n))]) chownSync(p, 65534, 65534);
        else chmodSync(parent, 0o555);
        const [cmd, ...pre] = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', BIN] : [BIN];
        const r = await new Promise<{ code: number | null; stderr: string }>((ok) => {
          execFile(
            cmd!,
            [...pre, 'restore', copy],
            { env: { ...process.env, KMSGATE_DATA_DIR: join(parent, 'kmsgate'), KMS_DB_PATH: '' }, encoding: 'utf8' },
            (err, _out, stderr) => ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
          );
        });
        expect(r.stderr).toMatch(
          /^kmsgate: restore puts the data dir in place by renaming it in .*\/var-lib, which this user may not write: run it as a user who may \(root, for systemd's StateDirectory=\)\n$/m,
        );
        expect(r.code).toBe(2);
        expect(readdirSync(parent)).toEqual([]);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    });

    it('backup into a directory that is not empty, or from a data dir with no store', async () => {
      const r = await kmsgate(restoredDir, 'backup', '--out', backupDir);
      expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^kmsgate: .*backup is not empty: back up into a new or empty directory\n$/) });
      const none = await kmsgate(join(root, 'nowhere'), 'backup', '--out', join(root, 'unused'));
      expect(none).toMatchObject({ code: 2, stderr: expect.stringMatching(/^kmsgate: no kmsgate store at .*nowhere\/kms\.db: set KMSGATE_DATA_DIR/) });
      expect(existsSync(join(root, 'unused'))).toBe(false);
    });
  });
});
