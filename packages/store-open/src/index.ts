/**
 * @kmsgate/store-open: the one place a GatewayStore is opened. The gateway (apps/server's
 * startGateway) and every kmsgate command that acts on shared state call `openGatewayStore` with
 * the configuration's `store` (apps/server/src/config.ts `storeSpec`), so a command acts on the
 * database the gateways use: the embedded SQLite store in the data dir, or the PostgreSQL database
 * `store.url` names (docs/scale-out.md). It sits beside @kmsgate/store and @kmsgate/store-pg
 * rather than in either, since the PostgreSQL store depends on the SQLite package's contracts.
 */
import { StoreLocationError, openSqliteGatewayStore, resolveDataDir, resolveDbPath, type GatewayStore, type SqliteGatewayStoreOptions } from '@kmsgate/store';
import { NoSchemaError, SchemaTooNewError, initPgStore, openPgGatewayStore, type PgStoreInitialised } from '@kmsgate/store-pg';

/** Which store to open: the configuration's `store` section with its password read. */
export interface StoreSpec {
  /** postgres:// or postgresql:// without a password; absent: the embedded SQLite store. */
  url?: string;
  /** The database password (from store.passwordFile or store.passwordEnv); never logged. */
  password?: string;
  /** Connections this process keeps to the database. */
  maxConnections?: number;
  /** The database cancels a statement after this long. */
  statementTimeoutMs?: number;
}

/** How the store is opened; the same options whichever database it is. */
export type OpenStoreOptions = SqliteGatewayStoreOptions;

/**
 * Opens the store `spec` chooses. A store this process must not use (missing unless `create`, not
 * kmsgate's, written by a newer kmsgate, or a database this build cannot open) is a
 * StoreLocationError: a configuration mistake, exit 2. An unreachable database rejects with the
 * store's StoreUnavailableError. Nothing is left open when it rejects.
 */
export async function openGatewayStore(spec: StoreSpec, env: NodeJS.ProcessEnv, opts: OpenStoreOptions = {}): Promise<GatewayStore> {
  if (spec.url === undefined) return openSqliteGatewayStore(env, opts);
  // The data dir still holds credential.key, the same file on every gateway on the database.
  try {
    return await openPgGatewayStore(connectionUrl({ ...spec, url: spec.url }), {
      dataDir: resolveDataDir(env),
      create: opts.create ?? false,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.sealKey === false ? { sealKey: false } : {}),
      ...poolOptions(spec),
    });
  } catch (e) {
    throw asLocationError(e);
  }
}

/**
 * `kmsgate init` on the PostgreSQL database `spec` names: its schema and the data dir's
 * credential.key, as a gateway's first start makes them (@kmsgate/store-pg initPgStore). Refuses
 * as openGatewayStore does.
 */
export async function initSharedStore(spec: StoreSpec & { url: string }, env: NodeJS.ProcessEnv): Promise<PgStoreInitialised> {
  try {
    return await initPgStore(connectionUrl(spec), { dataDir: resolveDataDir(env), ...poolOptions(spec) });
  } catch (e) {
    throw asLocationError(e);
  }
}

/** Like SQLite's user_version check: a database this build must not write to, or that has no kmsgate schema, is the configuration's mistake. */
function asLocationError(e: unknown): unknown {
  return e instanceof SchemaTooNewError || e instanceof NoSchemaError ? new StoreLocationError(e.message) : e;
}

function poolOptions(spec: StoreSpec): { maxConnections?: number; statementTimeoutMs?: number } {
  return {
    ...(spec.maxConnections !== undefined ? { maxConnections: spec.maxConnections } : {}),
    ...(spec.statementTimeoutMs !== undefined ? { statementTimeoutMs: spec.statementTimeoutMs } : {}),
  };
}

/** The URL the driver connects with: store.url with the password put in. */
export function connectionUrl(spec: StoreSpec & { url: string }): string {
  const url = new URL(spec.url);
  // Percent-encoded: URL's setter leaves '%' as it is, and the driver decodes the password, so '%41' would arrive as 'A'.
  if (spec.password !== undefined) url.password = encodeURIComponent(spec.password);
  return url.toString();
}

/** The store for logs and messages: the SQLite file, or the database URL without its password. */
export function describeStore(spec: StoreSpec, env: NodeJS.ProcessEnv): string {
  if (spec.url === undefined) return resolveDbPath(env);
  const url = new URL(spec.url);
  url.password = '';
  return url.toString();
}
