/**
 * `kmsgate backup --out DIR`: a consistent copy of the data dir, taken while the gateway serves.
 *
 * - The store through SQLite's online backup API, in one step: one read transaction, so the copy
 *   is the database as of one commit, whatever sits in kms.db-wal (copying kms.db alone loses it).
 * - The audit mirror cut at that snapshot's last record: the gateway writes a JSONL line before it
 *   commits the record, so by the time the snapshot is taken every record in it is in the mirror.
 * - credential.key, and the embedded simulators' device files (development installations keep
 *   their keys there; a real device's keys are not in the data dir: `kmsgate hsm backup`).
 * - manifest.json last, with every file's SHA-256: a directory without it is not a backup.
 */
import { copyFileSync, createReadStream, existsSync, mkdirSync, openSync, closeSync, readdirSync, writeSync, fdatasyncSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { syncDirectory } from '@kmsgate/core';
import { SEAL_KEY_FILE, openDb, readInstallation, readStoreCounts, verifyAuditChain, verifyAuditJsonl } from '@kmsgate/store';
import { CliError, printable } from '../context';
import { BACKUP_DB_FILE, BACKUP_FORMAT, fileDigest, writeManifest, type Manifest } from './manifest';

/** The gateway's audit mirror in the data dir (apps/server/src/gateway.ts AUDIT_JSONL_FILE). */
export const AUDIT_JSONL_FILE = 'audit.jsonl';
/** The embedded simulators' device state: `<backend id>-sim.json`, and tee-sim's `.rpmb` companion. */
export const SIMULATOR_FILE = /^[A-Za-z0-9_-]+-sim\.json(\.rpmb)?$/;

export interface BackupOptions {
  dataDir: string;
  dbPath: string;
  outDir: string;
  version: string;
  now: () => Date;
  progress: (line: string) => void;
}

/** `o.dbPath` is a store the command has located (a missing or foreign one is refused before this). */
export async function createBackup(o: BackupOptions): Promise<Manifest> {
  if (existsSync(o.outDir) && readdirSync(o.outDir).length > 0)
    throw new CliError(`${printable(o.outDir)} is not empty: back up into a new or empty directory`);
  mkdirSync(o.outDir, { recursive: true, mode: 0o700 });
  const files: Manifest['files'] = {};
  const add = (name: string) => {
    files[name] = fileDigest(join(o.outDir, name));
  };

  o.progress(`copying the store ${o.dbPath} (SQLite online backup, one snapshot) …`);
  const live = openDb(o.dbPath);
  try {
    // All remaining pages in one step: the copy is one read transaction, never restarted by a write.
    await live.backup(join(o.outDir, BACKUP_DB_FILE), { progress: () => 0x7fffffff });
  } finally {
    live.close();
  }
  const copy = new Database(join(o.outDir, BACKUP_DB_FILE));
  let manifest: Omit<Manifest, 'files'>;
  try {
    // A self-contained file: no -wal or -shm beside it in the backup (the restore turns WAL back on).
    copy.pragma('journal_mode = DELETE');
    const chain = verifyAuditChain(copy);
    if (!chain.ok)
      throw new CliError(
        `the store's audit chain is broken at record ${chain.brokenAt} (${chain.reason}); such a backup could not be restored: see \`kmsgate audit verify\``,
      );
    const store = readStoreCounts(copy);
    manifest = {
      format: BACKUP_FORMAT,
      installationId: readInstallation(copy).id,
      createdAt: o.now().toISOString(),
      kmsgateVersion: o.version,
      schemaVersion: copy.pragma('user_version', { simple: true }) as number,
      store,
    };
    o.progress(`store: ${store.keys} keys, ${store.apiKeys} API keys, audit records 1-${store.auditHeadSeq}`);

    const mirror = join(o.dataDir, AUDIT_JSONL_FILE);
    if (existsSync(mirror)) {
      const lines = await copyMirrorUpTo(mirror, join(o.outDir, AUDIT_JSONL_FILE), store.auditHeadSeq);
      const check = verifyAuditJsonl(copy, join(o.outDir, AUDIT_JSONL_FILE));
      if (!check.ok || check.pendingTail)
        throw new CliError(
          `the audit mirror ${printable(mirror)} does not match the store (${check.ok ? `pending ${check.pendingTail} tail` : check.reason}); see \`kmsgate audit verify --jsonl\``,
        );
      o.progress(`audit mirror: ${lines} lines, up to record ${store.auditHeadSeq}`);
    }
  } finally {
    copy.close();
  }
  add(BACKUP_DB_FILE);
  if (existsSync(join(o.outDir, AUDIT_JSONL_FILE))) add(AUDIT_JSONL_FILE);

  if (existsSync(join(o.dataDir, SEAL_KEY_FILE))) {
    copyFileSync(join(o.dataDir, SEAL_KEY_FILE), join(o.outDir, SEAL_KEY_FILE));
    add(SEAL_KEY_FILE);
    o.progress(`${SEAL_KEY_FILE}: copied (it unseals the SigV4 secrets)`);
  } else if (manifest.store.apiKeys > 0) {
    o.progress(`warning: ${SEAL_KEY_FILE} is missing from the data dir: the backup's SigV4 secrets cannot be unsealed (x-api-key values still work)`);
  }
  // After the store: a key the snapshot holds was made on the device before it was recorded.
  for (const name of readdirSync(o.dataDir)
    .filter((n) => SIMULATOR_FILE.test(n))
    .sort()) {
    copyFileSync(join(o.dataDir, name), join(o.outDir, name));
    add(name);
    o.progress(`${name}: copied (an embedded simulator's device state)`);
  }
  syncDirectory(o.outDir);
  const full: Manifest = { ...manifest, files };
  writeManifest(o.outDir, full);
  o.progress(`manifest.json written: installation ${full.installationId}, ${Object.keys(files).length} files`);
  return full;
}

/** Copies the mirror's lines up to and including record `headSeq` (a later line or a torn tail is the live gateway's, not the snapshot's). */
async function copyMirrorUpTo(from: string, to: string, headSeq: number): Promise<number> {
  const fd = openSync(to, 'wx', 0o600);
  let lines = 0;
  try {
    if (headSeq === 0) return 0;
    const input = createReadStream(from, { encoding: 'utf8' });
    try {
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        const seq = /^\{"seq":(\d+),/.exec(line)?.[1];
        if (seq === undefined) break;
        if (Number(seq) > headSeq) break;
        writeSync(fd, `${line}\n`);
        lines++;
        if (Number(seq) === headSeq) break;
      }
    } finally {
      input.destroy();
    }
    fdatasyncSync(fd);
    return lines;
  } finally {
    closeSync(fd);
  }
}
