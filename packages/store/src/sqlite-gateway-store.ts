/**
 * The embedded default store: every contract over one SQLite file (the data dir's kms.db). SQLite is
 * synchronous and in-process, so each repository is its SQLite class with the async methods wrapped
 * (their work is done by the time the Promise exists); the views are the classes' cached reads
 * (read-cache.ts), and `refresh` is the read cache's once-per-request check of `store_version`.
 */
import { ApiKeyStore } from './api-keys';
import {
  API_KEY_REPOSITORY,
  DEVICE_LOG_REPOSITORY,
  IMPORT_TOKEN_REPOSITORY,
  KEY_REPOSITORY,
  KEY_ROTATION_REPOSITORY,
  type GatewayStore,
  type MethodKinds,
  type Synchronous,
} from './contract';
import { HsmLogStore } from './hsm-log';
import { ImportTokenStore } from './import-tokens';
import { KeyRotationStore } from './key-rotations';
import { KeyStore } from './keys';
import { SqlitePolicyState } from './policy-state';
import { SqliteAuditLog, sqliteAuditReader } from './sqlite-audit-log';
import { ReadCache } from './read-cache';
import { openStore, sealKeyForStore } from './store-location';

export interface SqliteGatewayStoreOptions {
  /** Creates the store on first use (the gateway, so `npm start` works on a fresh clone); the CLIs refuse a missing one. */
  create?: boolean;
  /** The clock creation dates, expiry and deletion dates are read from (the gateway's, injectable in tests). */
  now?: () => Date;
  /**
   * Loads (or creates) credential.key, which `apiKeys.generate` and SigV4 need (default true). A tool
   * that only lists or revokes leaves it out, so an emergency revoke works when the file is unreadable.
   */
  sealKey?: boolean;
}

/**
 * Opens the store at `$KMSGATE_DATA_DIR`/`$KMS_DB_PATH` as every tool finds it (store-location.ts).
 * Throws StoreLocationError for a missing store (unless `create`), a foreign one, or live API keys
 * whose credential.key is missing.
 */
export function openSqliteGatewayStore(env: NodeJS.ProcessEnv, opts: SqliteGatewayStoreOptions = {}): GatewayStore {
  const now = opts.now ?? (() => new Date());
  const { location, db } = openStore(env, { create: opts.create ?? false });
  try {
    const sealKey = opts.sealKey === false ? undefined : sealKeyForStore(db, location.dataDir);
    const reads = ReadCache.of(db);
    return {
      keys: promised(new KeyStore(db, now), KEY_REPOSITORY),
      apiKeys: promised(new ApiKeyStore(db, sealKey, { now }), API_KEY_REPOSITORY),
      rotations: promised(new KeyRotationStore(db), KEY_ROTATION_REPOSITORY),
      importTokens: promised(new ImportTokenStore(db), IMPORT_TOKEN_REPOSITORY),
      policyState: new SqlitePolicyState(db, { now }),
      deviceLogs: promised(new HsmLogStore(db, now), DEVICE_LOG_REPOSITORY),
      audit: sqliteAuditReader(db),
      // async: a mirror that contradicts the store is a rejection, as a network store's would be.
      openAudit: async (options) => new SqliteAuditLog(db, options),
      // async: a failed read of the counter is a rejection, as a network store's would be.
      async refresh() {
        reads.check();
      },
      // The read cache never expires a view by age: nothing needs carrying for the request.
      async refreshFor(request) {
        reads.check();
        return request();
      },
      async close() {
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * A contract over its synchronous implementation: `view` methods are the class's own, bound;
 * `async` ones return a Promise of the class's result, a rejected one when it throws.
 */
function promised<T>(store: Synchronous<T>, kinds: MethodKinds<T>): T {
  const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const method = methods[name]!.bind(store);
    out[name] = kind === 'view' ? method : (...args: unknown[]) => new Promise((resolve) => resolve(method(...args)));
  }
  return Object.freeze(out) as T;
}
