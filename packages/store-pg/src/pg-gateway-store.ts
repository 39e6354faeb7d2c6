/**
 * The shared store as one GatewayStore (@kmsgate/store's bundle contract): every repository on one
 * pool and one change feed, which keeps every view current, so `refresh()` is one reading of the
 * change counter for all of them. Opening migrates the schema (a newer one is refused; a missing
 * one is created only when asked to), checks this gateway's credential.key against the one the
 * database records (credential-key.ts), and loads every view before the first request.
 */
import type { GatewayStore } from '@kmsgate/store';
import type { Pool } from 'pg';
import { ChangeFeed, type ChangeFeedOptions } from './change-feed';
import { sealKeyForPg, type PgSealKey } from './credential-key';
import { guarded } from './faults';
import { MIGRATIONS, databaseName, migrate, type Migrated } from './migrations';
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
  /**
   * Creates what a first start creates (default false, as on SQLite): the schema in a database
   * without one, and credential.key where the database records none. The gateway and `kmsgate
   * init` do; every other command is refused on a database without kmsgate's schema.
   */
  create?: boolean;
  /** Loads credential.key, checked against the one the database records (credential-key.ts; default true); a tool that only lists or revokes leaves it out. */
  sealKey?: boolean;
  feed?: ChangeFeedOptions;
}

/**
 * Opens the shared store at `url` (postgres://…). Rejects with StoreUnavailableError when the
 * database cannot be reached, SchemaTooNewError for a newer schema, NoSchemaError for none (unless
 * `create`), StoreLocationError when the credential.key does not fit the database; nothing is left
 * open then.
 */
export async function openPgGatewayStore(url: string, opts: PgGatewayStoreOptions): Promise<GatewayStore> {
  if (typeof opts?.dataDir !== 'string' || opts.dataDir === '') throw new TypeError('dataDir must be a non-empty string');
  const pool = createPool(url, opts);
  try {
    const { sealKey } = await prepare(pool, opts.dataDir, { create: opts.create ?? false, sealKey: opts.sealKey ?? true });
    const now = opts.now ?? (() => new Date());
    const feed = new ChangeFeed(pool, opts.feed);
    const audit = new PgAuditReader(pool);
    const store: GatewayStore = {
      keys: new PgKeyRepository(pool, feed, now),
      apiKeys: new PgApiKeyRepository(pool, feed, sealKey?.key, { now }),
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

/** What `kmsgate init` did on the database (initPgStore). */
export interface PgStoreInitialised {
  /** The database's name, quoted (never its URL). */
  database: string;
  /** The schema version found (0: none, it was created) and the one left. */
  schema: Migrated;
  credentialKey: Omit<PgSealKey, 'key'>;
}

/**
 * `kmsgate init` on PostgreSQL: what a gateway's first start does (the schema migrated or created,
 * credential.key created or checked against the database's record) and nothing else; run again, it
 * changes nothing. Rejects as openPgGatewayStore does.
 */
export async function initPgStore(url: string, opts: PgPoolOptions & { dataDir: string }): Promise<PgStoreInitialised> {
  if (typeof opts?.dataDir !== 'string' || opts.dataDir === '') throw new TypeError('dataDir must be a non-empty string');
  const pool = createPool(url, opts);
  try {
    const { schema, sealKey } = await prepare(pool, opts.dataDir, { create: true, sealKey: true });
    const { key, ...credentialKey } = sealKey!;
    key.fill(0);
    return { database: await guarded('init', () => databaseName(pool)), schema, credentialKey };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** The schema brought up to date (created only when `create`), then credential.key checked against the database (credential-key.ts). */
async function prepare(pool: Pool, dataDir: string, opts: { create: boolean; sealKey: boolean }): Promise<{ schema: Migrated; sealKey?: PgSealKey }> {
  const schema = await guarded('migrate', () => migrate(pool, MIGRATIONS, { create: opts.create }));
  if (!opts.sealKey) return { schema };
  return { schema, sealKey: await sealKeyForPg(pool, dataDir, { create: opts.create }) };
}
