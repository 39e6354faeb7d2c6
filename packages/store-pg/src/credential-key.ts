/**
 * The credential.key of a gateway on a shared database. API keys' SigV4 secrets are sealed under
 * the data dir's credential.key (packages/store credential-seal.ts), and on PostgreSQL every gateway
 * reads the same rows, so every gateway must hold the same file: a gateway with another key could
 * open none of the secrets the others sealed, and would seal new ones the others cannot open.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SEAL_KEY_FILE, StoreLocationError, loadOrCreateSealKey, unsealCredential } from '@kmsgate/store';
import type { Pool } from 'pg';
import { guarded } from './faults';

/**
 * The data dir's credential.key, checked against the database before anything is written: it must
 * open the sealed secret of every live (unrevoked) API key. Refused (StoreLocationError, a
 * configuration error) when it opens any of them not, and when the file is missing while the
 * database holds live keys (a new one would match none of them); only a database with no live key
 * gets a new credential.key.
 */
export async function sealKeyForPg(pool: Pool, dataDir: string): Promise<Uint8Array> {
  const { rows } = await guarded('read sealed SigV4 secrets', () =>
    pool.query<{ access_key_id: string; sealed_secret: Buffer }>(
      'SELECT access_key_id, sealed_secret FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
    ),
  );
  const path = join(dataDir, SEAL_KEY_FILE);
  if (rows.length > 0 && !existsSync(path)) {
    throw new StoreLocationError(
      `no ${SEAL_KEY_FILE} in ${dataDir}, but the shared database holds ${rows.length} live API key(s) whose SigV4 secrets are sealed under one: ` +
        `copy the ${SEAL_KEY_FILE} of a gateway already on this database (every gateway on it needs the same file)`,
    );
  }
  const key = loadOrCreateSealKey(dataDir);
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
      `${path} cannot open the SigV4 secrets of ${unopened.length} of the ${rows.length} live API key(s) in the shared database ` +
        `(the first: ${unopened[0]!.access_key_id}): every gateway on one database must hold the same ${SEAL_KEY_FILE}; copy it from a gateway that serves them`,
    );
  }
  return key;
}
