/**
 * The credential.key of a gateway on a shared database. API keys' SigV4 secrets are sealed under
 * the data dir's credential.key (packages/store credential-seal.ts), and on PostgreSQL every gateway
 * reads the same rows, so every gateway must hold the same file: a gateway with another key could
 * open none of the secrets the others sealed, and would seal new ones the others cannot open.
 *
 * Which key that is, the database records (migration 6: a check value of the key, never the key),
 * written by whoever creates the first credential.key, so it is agreed on before any secret is
 * sealed: two gateways starting at once on an empty database cannot each make their own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { SEAL_KEY_FILE, StoreLocationError, loadOrCreateSealKey, loadSealKey, unsealCredential } from '@kmsgate/store';
import type { Pool } from 'pg';
import { DB_NOW_MS } from './db-clock';
import { guarded, inTransaction } from './faults';
import { databaseName } from './migrations';

/** Any 64-bit value other than the migrations' ("kmskey"); first starts on one database take turns on it. */
const CREDENTIAL_KEY_LOCK = 0x6b6d736b6579n;

/** The label whose HMAC under the key is the check value: it identifies the key and reveals nothing of it. */
const CHECK_LABEL = 'kmsgate credential.key check v1';

/** HMAC-SHA-256 of CHECK_LABEL under the key (32 bytes). */
export function credentialKeyCheck(key: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(CHECK_LABEL).digest());
}

/**
 * What became of the data dir's credential.key: `created` (a new one, recorded as the database's),
 * `recorded` (the file there, recorded as the database's: a database without a record yet), or
 * `matched` (the file there is the one the database records).
 */
export type CredentialKeyOutcome = 'created' | 'recorded' | 'matched';

export interface PgSealKey {
  key: Uint8Array;
  outcome: CredentialKeyOutcome;
  /** The credential.key file. */
  path: string;
}

/**
 * The data dir's credential.key, checked against the database before anything is written, in one
 * transaction under an advisory lock (so concurrent first starts take turns and the later ones see
 * the first one's record):
 *
 * - the database records a credential.key: the file must be there and be that key;
 * - it records none (a new database, or one from before migration 6): the file, when there, must
 *   open the sealed secret of every live API key, and is recorded; when not there, a database with
 *   live API keys is refused (a new key would match none of them), and an empty one gets a new key
 *   only when `create` (the gateway's start and `kmsgate init`).
 *
 * Every refusal is a StoreLocationError (a configuration mistake) that names the file and what to
 * copy, with nothing written: no file, no row.
 */
export async function sealKeyForPg(pool: Pool, dataDir: string, { create = false }: { create?: boolean } = {}): Promise<PgSealKey> {
  const path = join(dataDir, SEAL_KEY_FILE);
  return await guarded('check credential.key', () =>
    inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [CREDENTIAL_KEY_LOCK.toString()]);
      const recorded = (await client.query<{ check_value: Buffer }>('SELECT check_value FROM credential_key_check')).rows[0];
      const database = await databaseName(client);
      const copy = `copy ${SEAL_KEY_FILE} (mode 0600) from a gateway already on this database: every gateway on one database must hold the same ${SEAL_KEY_FILE}`;
      if (recorded !== undefined) {
        const key = loadSealKey(dataDir);
        if (key === undefined)
          throw new StoreLocationError(`no ${SEAL_KEY_FILE} in ${dataDir}, but database ${database} records the one its gateways hold: ${copy}`);
        if (!timingSafeEqual(credentialKeyCheck(key), recorded.check_value)) {
          key.fill(0);
          throw new StoreLocationError(`${path} is not the ${SEAL_KEY_FILE} database ${database} records for its gateways: ${copy}`);
        }
        return { key, outcome: 'matched', path };
      }
      const { rows } = await client.query<{ access_key_id: string; sealed_secret: Buffer }>(
        'SELECT access_key_id, sealed_secret FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
      );
      const found = loadSealKey(dataDir);
      if (found === undefined) {
        if (rows.length > 0)
          throw new StoreLocationError(
            `no ${SEAL_KEY_FILE} in ${dataDir}, but database ${database} holds ${rows.length} live API key(s) whose SigV4 secrets are sealed under one: ${copy}`,
          );
        if (!create)
          throw new StoreLocationError(
            `no ${SEAL_KEY_FILE} in ${dataDir}, and database ${database} records none yet: run \`kmsgate init\` or start the gateway to create it`,
          );
      }
      const key = found ?? loadOrCreateSealKey(dataDir);
      const outcome: CredentialKeyOutcome = found === undefined ? 'created' : 'recorded';
      const unopened = rows.filter((r) => {
        try {
          unsealCredential(key, r.access_key_id, new Uint8Array(r.sealed_secret)).fill(0);
          return false;
        } catch {
          return true;
        }
      });
      if (unopened.length > 0) {
        key.fill(0);
        throw new StoreLocationError(
          `${path} cannot open the SigV4 secrets of ${unopened.length} of the ${rows.length} live API key(s) in database ${database} ` +
            `(the first: ${unopened[0]!.access_key_id}): ${copy}`,
        );
      }
      // The primary key (one row) is the backstop: a second record could only fail, never replace the first.
      await client.query(`INSERT INTO credential_key_check (check_value, recorded_at) VALUES ($1, ${DB_NOW_MS})`, [credentialKeyCheck(key)]);
      return { key, outcome, path };
    }),
  );
}
