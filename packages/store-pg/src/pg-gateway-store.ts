/**
 * The shared store as one GatewayStore (@kmsgate/store's bundle contract): every repository on one
 * pool and one change feed, which keeps every view current, so `refresh()` is one reading of the
 * change counter for all of them. Opening migrates the schema (a newer one is refused), checks this
 * gateway's credential.key against the secrets already in the database (credential-key.ts), and
 * loads every view before the first request.
 */
import type { GatewayStore } from '@kmsgate/store';
import { ChangeFeed, type ChangeFeedOptions } from './change-feed';
import { sealKeyForPg } from './credential-key';
import { guarded } from './faults';
import { migrate } from './migrations';
import { createPool, type PgPoolOptions } from './open';
import { PgApiKeyRepository } from './pg-api-keys';
import { PgAuditLog, PgAuditReader } from './pg-audit-log';
import { PgDeviceLogRepository } from './pg-device-logs';
import { PgImportTokenRepository } from './pg-import-tokens';
import { PgKeyRotationRepository } from './pg-key-rotations';
import { PgKeyRepository } from './pg-keys';
import { PgPolicyState, type PgPolicyStateOptions } from './pg-policy-state';

export interface PgGatewayStoreOptions extends PgPoolOptions, PgPolicyStateOptions {
  /** The data dir whose credential.key seals API keys' SigV4 secrets: every gateway on the database holds the same file. */
  dataDir: string;
  /** The gateway's clock: API key expiry and creation, key deletion dates (as on SQLite). Windows use the database's. */
  now?: () => Date;
  /** Loads (or, on a database with no live API key, creates) credential.key (default true); a tool that only lists or revokes leaves it out. */
  sealKey?: boolean;
  feed?: ChangeFeedOptions;
}

/**
 * Opens the shared store at `url` (postgres://…). Rejects with StoreUnavailableError when the
 * database cannot be reached, SchemaTooNewError for a newer schema, StoreLocationError when the
 * credential.key does not fit the database; nothing is left open then.
 */
export async function openPgGatewayStore(url: string, opts: PgGatewayStoreOptions): Promise<GatewayStore> {
  if (typeof opts?.dataDir !== 'string' || opts.dataDir === '') throw new TypeError('dataDir must be a non-empty string');
  const pool = createPool(url, opts);
  try {
    await guarded('migrate', () => migrate(pool));
    const sealKey = opts.sealKey === false ? undefined : await sealKeyForPg(pool, opts.dataDir);
    const now = opts.now ?? (() => new Date());
    const feed = new ChangeFeed(pool, opts.feed);
    const audit = new PgAuditReader(pool);
    const store: GatewayStore = {
      keys: new PgKeyRepository(pool, feed, now),
      apiKeys: new PgApiKeyRepository(pool, feed, sealKey, { now }),
      rotations: new PgKeyRotationRepository(pool, feed),
      importTokens: new PgImportTokenRepository(pool, feed),
      policyState: new PgPolicyState(pool, feed, opts),
      deviceLogs: new PgDeviceLogRepository(pool, audit),
      audit,
      openAudit: (options) => PgAuditLog.open(pool, options),
      async refresh() {
        await feed.confirm();
      },
      refreshFor: (request) => feed.confirmFor(request),
      async close() {
        feed.stop();
        await pool.end();
      },
    };
    // The first reading loads every view: the first request is served from them.
    await feed.start();
    return store;
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}
