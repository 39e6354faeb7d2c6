/**
 * `kmsgate init`: the one command that creates a store where none is (every other command refuses
 * a missing one, exit 2), as the gateway does on its first start; for preparing a data dir (and its
 * first API key) before the gateway ever runs. Run again, it changes nothing.
 *
 * - The embedded SQLite store: the data dir (mode 0700), kms.db with its schema and installation
 *   id, and credential.key.
 * - A PostgreSQL store (store.url): kmsgate's schema in that database, and the data dir's
 *   credential.key created (and recorded in the database) or checked against the one the database
 *   records (@kmsgate/store-pg credential-key.ts), which every other gateway on it must then hold.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SEAL_KEY_FILE, StoreLocationError, loadOrCreateSealKey, openDb, readInstallation } from '@kmsgate/store';
import { initSharedStore } from '@kmsgate/store-open';
import { CliError, cliStoreSpec, locate, type CliIo, type CommandModule } from '../context';

export const initCommands: CommandModule = (program, { io }) => {
  program
    .command('init')
    .description(
      'create the data dir and an empty store where the gateway will look for it ($KMSGATE_DATA_DIR, $KMS_DB_PATH, or store.url and its credential.key); an existing store is left as it is',
    )
    .action(async () => {
      const spec = cliStoreSpec(io.env);
      if (spec.url === undefined) initSqlite(io);
      else await initPostgres(io, { ...spec, url: spec.url });
    });
};

function initSqlite(io: CliIo): void {
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
}

async function initPostgres(io: CliIo, spec: Parameters<typeof initSharedStore>[0]): Promise<void> {
  let done: Awaited<ReturnType<typeof initSharedStore>>;
  try {
    done = await initSharedStore(spec, io.env);
  } catch (e) {
    if (e instanceof StoreLocationError) throw new CliError(e.message);
    throw e;
  }
  const { database, schema, credentialKey } = done;
  const { path, outcome } = credentialKey;
  if (schema.from === schema.to && outcome === 'matched') {
    io.stdout(`kmsgate is already initialised in database ${database} (schema version ${schema.to}) and ${path} is its credential.key; nothing changed\n`);
    return;
  }
  if (schema.from === 0) io.stdout(`created kmsgate's schema (version ${schema.to}) in database ${database}\n`);
  else if (schema.from < schema.to) io.stdout(`migrated database ${database} from schema version ${schema.from} to ${schema.to}\n`);
  else io.stdout(`database ${database} already has kmsgate's schema (version ${schema.to})\n`);
  if (outcome === 'created') io.stdout(`created ${path} (mode 0600) and recorded it in database ${database} as its gateways' credential.key\n`);
  else if (outcome === 'recorded') io.stdout(`recorded ${path} in database ${database} as its gateways' credential.key\n`);
  else io.stdout(`${path} is the credential.key database ${database} records\n`);
  io.stdout(
    `every other gateway (and kmsgate command) on this database needs this credential.key: copy ${path} into its data dir (KMSGATE_DATA_DIR), mode 0600, before it starts\n`,
  );
}
