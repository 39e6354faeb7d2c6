/**
 * `kmsgate init`: the one command that creates a store where none is (every other command refuses
 * a missing one, exit 2): the data dir (mode 0700), kms.db with its schema and installation id, and
 * credential.key. The gateway does the same on its first start; this is for preparing a data dir
 * (and its first API key) before the gateway ever runs. An existing store is left as it is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SEAL_KEY_FILE, loadOrCreateSealKey, openDb, readInstallation } from '@kmsgate/store';
import { locate, requireSqliteStore, type CommandModule } from '../context';

export const initCommands: CommandModule = (program, { io }) => {
  program
    .command('init')
    .description(
      'create the data dir and an empty store where the gateway will look for it ($KMSGATE_DATA_DIR, $KMS_DB_PATH); an existing store is left as it is',
    )
    .action(() => {
      requireSqliteStore(
        io.env,
        "kmsgate init creates the embedded SQLite store; the gateway's first start creates kmsgate's tables in store.url's database (and credential.key in the data dir)",
      );
      const { dataDir, dbPath } = locate(io.env, { create: true });
      const existed = existsSync(dbPath);
      // An existing store's credential.key is never made anew: its SigV4 secrets are sealed under the old one.
      const sealKeyExisted = existsSync(join(dataDir, SEAL_KEY_FILE));
      const db = openDb(dbPath);
      try {
        const { id } = readInstallation(db);
        if (existed) {
          io.stdout(`a kmsgate store is already at ${dbPath} (installation ${id}); nothing changed\n`);
          return;
        }
        if (!sealKeyExisted) loadOrCreateSealKey(dataDir);
        io.stdout(`created a kmsgate store at ${dbPath} (installation ${id})\n`);
      } finally {
        db.close();
      }
    });
};
