import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { run as runCli } from '@kmsgate/cli';
import { openDb, readInstallation, verifyAuditChain, verifyAuditJsonl } from '@kmsgate/store';
import { REPO_ROOT } from '../src/gateway';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * `kmsgate backup` taken by a separate process while the gateway signs under load, restored into
 * a new data dir that a new gateway then serves: the old credentials and keys work, the audit
 * chain and its mirror verify. Then each refusal of `kmsgate restore`: exit 2, one line, nothing
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
  let signedBefore = 0;
  let keyId: string;
  let publicKey: Buffer;
  let credentials: TestGateway['admin'];

  beforeAll(async () => {
    const t = await startTestGateway();
    credentials = t.admin;
    const kms = t.client();
    keyId = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    publicKey = Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!);
    backupDir = join(root, 'backup');
    let stop = false;
    let signed = 0;
    let reached40: () => void;
    const fortySigned = new Promise<void>((ok) => {
      reached40 = ok;
    });
    const signer = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from(`load ${worker}.${i}`), SigningAlgorithm: 'ECDSA_SHA_256' }));
        if (++signed === 40) reached40();
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(signer));
    // The issue's case: after ~40 requests everything sat in kms.db-wal.
    await fortySigned;
    expect(existsSync(join(t.dataDir, 'kms.db-wal'))).toBe(true);
    const backup = await kmsgateProcess(t.dataDir, 'backup', '--out', backupDir);
    signedBefore = signed;
    // Signing went on during the backup and goes on after it: the backup is of a live gateway.
    const more = signed + 8;
    while (signed < more)
      await kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('after'), SigningAlgorithm: 'ECDSA_SHA_256' })).then(() => {
        signed++;
      });
    stop = true;
    await load;
    await t.stop();
    expect(backup.stderr).toMatch(/^copying the store .* \(SQLite online backup, one snapshot\) …$/m);
    expect(backup).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^backup of installation [0-9a-f]{32} in .*: 1 keys, 1 API keys, audit records up to \d+\n$/),
    });

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
    expect(manifest.store).toMatchObject({ keys: 1, apiKeys: 1 });
    // CreateKey and the 40 signs at least; the signs still running after the snapshot are not in it.
    expect(manifest.store.auditHeadSeq).toBeGreaterThanOrEqual(41);
    expect(readdirSync(backupDir).filter((n) => /-wal$|-shm$/.test(n))).toEqual([]);
    expect(signedBefore).toBeGreaterThanOrEqual(40);
  });

  it('restores into a gateway that serves the old credentials and keys, with an audit chain that verifies', async () => {
    const db = openDb(join(restoredDir, 'kms.db'));
    try {
      const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
      expect(readInstallation(db).id).toBe(manifest.installationId);
      // The backup's records, then the restore's own admin record.
      expect(verifyAuditChain(db)).toMatchObject({ ok: true, count: manifest.store.auditHeadSeq + 1 });
      expect(verifyAuditJsonl(db, join(restoredDir, 'audit.jsonl'))).toMatchObject({ ok: true, lastSeq: manifest.store.auditHeadSeq + 1 });
    } finally {
      db.close();
    }
    const t = await startTestGateway({ dataDir: restoredDir });
    try {
      const kms = t.client(credentials);
      const message = Buffer.from('signed by the restored gateway');
      const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(verify('sha256', message, createPublicKey({ key: publicKey, format: 'der', type: 'spki' }), Signature!)).toBe(true);
    } finally {
      await t.stop({ keepData: true });
    }
    expect(await kmsgate(restoredDir, 'audit', 'verify', '--jsonl')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^OK: \d+ records, hash chain intact/),
    });
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

    it('backup into a directory that is not empty, or from a data dir with no store', async () => {
      const r = await kmsgate(restoredDir, 'backup', '--out', backupDir);
      expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^kmsgate: .*backup is not empty: back up into a new or empty directory\n$/) });
      const none = await kmsgate(join(root, 'nowhere'), 'backup', '--out', join(root, 'unused'));
      expect(none).toMatchObject({ code: 2, stderr: expect.stringMatching(/^kmsgate: no kmsgate store at .*nowhere\/kms\.db: set KMSGATE_DATA_DIR/) });
      expect(existsSync(join(root, 'unused'))).toBe(false);
    });
  });
});
