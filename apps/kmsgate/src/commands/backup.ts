/**
 * `kmsgate backup --out DIR` and `kmsgate restore DIR`: the data dir's store, audit mirror and
 * credential.key, copied consistently while the gateway serves and put back only after they are
 * checked (docs/backup.md). Progress goes to stderr, one line per step.
 */
import { resolve } from 'node:path';
import { locate, requireSqliteStore, type CommandModule } from '../context';
import { createBackup } from '../backup/create';
import { restoreBackup } from '../backup/restore';
import { VERSION } from '../version';

/** What backs up a gateway whose store is PostgreSQL (docs/backup.md). */
const BACKUP_ON_POSTGRESQL =
  "kmsgate backup and restore copy this host's SQLite data dir; back the database up with pg_dump (pg_restore to restore) and keep a copy of credential.key (docs/backup.md)";

export const backupCommands: CommandModule = (program, { io }) => {
  const progress = (line: string) => io.stderr(`${line}\n`);

  program
    .command('backup')
    .description('copy the data dir (store, audit mirror, credential.key) consistently, also while the gateway runs (docs/backup.md)')
    .requiredOption('--out <dir>', 'a new or empty directory for the backup')
    .action(async (opts: { out: string }) => {
      requireSqliteStore(io.env, BACKUP_ON_POSTGRESQL);
      const manifest = await createBackup({
        ...locate(io.env),
        outDir: resolve(opts.out),
        version: VERSION,
        now: () => new Date(),
        progress,
      });
      io.stdout(
        `backup of installation ${manifest.installationId} in ${resolve(opts.out)}: ${manifest.store.keys} keys, ` +
          `${manifest.store.apiKeys} API keys, audit records up to ${manifest.store.auditHeadSeq}\n`,
      );
    });

  program
    .command('restore')
    .description('check a backup (checksums, installation, key count, audit chain) and put it in place of the data dir; the gateway must be stopped')
    .argument('<dir>', 'a directory written by kmsgate backup')
    .action(async (dir: string) => {
      requireSqliteStore(io.env, BACKUP_ON_POSTGRESQL);
      // Restoring is how a data dir comes back, so a missing store is fine; a foreign one is not.
      const { dataDir, dbPath } = locate(io.env, { create: true });
      const { manifest, previous } = await restoreBackup({
        from: resolve(dir),
        dataDir,
        dbPath,
        now: () => new Date(),
        progress,
      });
      io.stdout(
        `restored installation ${manifest.installationId} (backup of ${manifest.createdAt}) into ${dataDir}` +
          `${previous ? `; the previous data dir is ${previous}` : ''}\n`,
      );
    });
};
