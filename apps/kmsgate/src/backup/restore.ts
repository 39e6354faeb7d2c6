/**
 * `kmsgate restore DIR`: puts a data-dir backup in place, only after checking all of it in a
 * staging directory beside the data dir: every file against the manifest's checksums, the store's
 * installation id, key and API-key counts, the audit hash chain and its mirror up to the recorded
 * head. Any refusal removes the staging directory: the data dir is not touched. The data dir
 * being replaced is kept, renamed, never deleted.
 */
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { syncDirectory } from '@kmsgate/core';
import { SqliteAuditLog, openDb, readInstallation, readStoreCounts, verifyAuditChain, verifyAuditJsonl } from '@kmsgate/store';
import { CliError, printable } from '../context';
import { AUDIT_JSONL_FILE } from './create';
import { BACKUP_DB_FILE, checkFiles, readManifest, type Manifest } from './manifest';

export interface RestoreOptions {
  from: string;
  dataDir: string;
  dbPath: string;
  now: () => Date;
  progress: (line: string) => void;
}

export interface RestoreResult {
  manifest: Manifest;
  /** Where the data dir that was replaced now is; undefined when there was none. */
  previous: string | undefined;
}

export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  if (o.dbPath !== join(o.dataDir, BACKUP_DB_FILE))
    throw new CliError(`restore puts the store at <data dir>/${BACKUP_DB_FILE}; KMS_DB_PATH points elsewhere (${printable(o.dbPath)}): unset it`);
  const manifest = readManifest(o.from);
  o.progress(`backup of installation ${manifest.installationId}, made ${manifest.createdAt} by kmsgate ${manifest.kmsgateVersion}`);
  checkFiles(o.from, manifest);
  o.progress(`checksums: ${Object.keys(manifest.files).length} files match manifest.json`);
  refuseForeignOrBusyTarget(o, manifest);

  mkdirSync(dirname(o.dataDir), { recursive: true });
  refuseUnwritableParent(o.dataDir);
  // Beside the data dir, so that putting it in place is one rename on one file system.
  const staging = mkdtempSync(join(dirname(o.dataDir), `.${basename(o.dataDir)}.restore-`));
  try {
    for (const name of Object.keys(manifest.files)) copyFileSync(join(o.from, name), join(staging, name));
    await checkStaged(staging, manifest, o);
    syncDirectory(staging);
    let previous: string | undefined;
    if (existsSync(o.dataDir)) {
      previous = `${o.dataDir}.before-restore-${o.now().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(o.dataDir, previous);
      o.progress(`the data dir that was there is kept as ${previous}`);
    }
    renameSync(staging, o.dataDir);
    syncDirectory(dirname(o.dataDir));
    o.progress(`restored into ${o.dataDir}`);
    return { manifest, previous };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The staging directory and the renames are in the data dir's parent: systemd's
 * StateDirectory=kmsgate is /var/lib/kmsgate, whose parent only root may write, so the service user
 * cannot restore there (root can, and systemd gives the files back to the service user at start).
 */
function refuseUnwritableParent(dataDir: string): void {
  try {
    accessSync(dirname(dataDir), constants.W_OK);
  } catch {
    throw new CliError(
      `restore puts the data dir in place by renaming it in ${printable(dirname(dataDir))}, which this user may not write: run it as a user who may (root, for systemd's StateDirectory=)`,
    );
  }
}

/** A store of another installation is never overwritten, nor one a running process has open. */
function refuseForeignOrBusyTarget(o: RestoreOptions, manifest: Manifest): void {
  if (!existsSync(o.dbPath)) {
    if (existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0)
      throw new CliError(`${printable(o.dataDir)} holds files but no ${BACKUP_DB_FILE}: not a kmsgate data dir; restore into a new or empty directory`);
    return;
  }
  // First: even opening the store of a running gateway is not this command's business.
  const pid = processHolding(o.dbPath);
  if (pid !== undefined)
    throw new CliError(`${printable(o.dbPath)} is open in process ${pid}: stop the gateway (and any kmsgate command) on this data dir first`);
  // Not readonly: a read-only connection to a WAL store leaves -wal and -shm files behind, a
  // read-write one removes them on close (and this one writes nothing).
  const target = new Database(o.dbPath, { fileMustExist: true });
  let targetId: string;
  try {
    targetId = readInstallation(target).id;
  } finally {
    target.close();
  }
  if (targetId !== manifest.installationId)
    throw new CliError(
      `the backup is of installation ${manifest.installationId}, but ${printable(o.dbPath)} belongs to installation ${targetId}: restore into that installation's data dir, or move ${printable(o.dataDir)} away first`,
    );
}

/** The store, as it will be served, holds what the manifest says, and its audit chain verifies up to the recorded head. */
async function checkStaged(staging: string, manifest: Manifest, o: RestoreOptions): Promise<void> {
  const db = openDb(join(staging, BACKUP_DB_FILE));
  try {
    const id = readInstallation(db).id;
    if (id !== manifest.installationId) throw new CliError(`the backup's store is of installation ${id}, not ${manifest.installationId} as its manifest says`);
    const chain = verifyAuditChain(db);
    if (!chain.ok) throw new CliError(`the backup's audit chain is broken at record ${chain.brokenAt}: ${chain.reason}`);
    const got = readStoreCounts(db);
    const want = manifest.store;
    if (got.keys !== want.keys || got.apiKeys !== want.apiKeys || got.auditHeadSeq !== want.auditHeadSeq || got.auditHeadHash !== want.auditHeadHash)
      throw new CliError(
        `the backup's store does not hold what its manifest records (keys ${got.keys}/${want.keys}, API keys ${got.apiKeys}/${want.apiKeys}, audit head ${got.auditHeadSeq}/${want.auditHeadSeq})`,
      );
    o.progress(`audit chain: ${chain.count} records verify, head ${want.auditHeadHash ?? '(empty log)'}`);
    if (AUDIT_JSONL_FILE in manifest.files) {
      const mirror = verifyAuditJsonl(db, join(staging, AUDIT_JSONL_FILE));
      if (!mirror.ok) throw new CliError(`the backup's audit mirror does not match its store at line ${mirror.line}: ${mirror.reason}`);
    }
    o.progress(`store: ${got.keys} keys, ${got.apiKeys} API keys`);
    // The restore is itself an admin change of this installation's history.
    const audit = new SqliteAuditLog(db, { jsonlPath: join(staging, AUDIT_JSONL_FILE) });
    await audit.append({
      requestId: `cli-${process.pid}-${Date.now()}`,
      operation: 'kmsgate restore',
      decision: 'admin',
      summary: { backupCreatedAt: manifest.createdAt, restoredHeadSeq: want.auditHeadSeq },
    });
    await audit.close();
  } finally {
    db.close();
  }
}

/** Linux: a process (not this one) with the file open, found through /proc/<pid>/fd. Elsewhere nothing is found. */
function processHolding(path: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const names = new Set([path, `${path}-wal`, `${path}-shm`]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (names.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
