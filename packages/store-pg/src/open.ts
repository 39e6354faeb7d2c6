/**
 * Opening the shared store: one pool per gateway, the schema migrated (or a newer one refused), the
 * change feed started and the views loaded before the first request.
 */
import pg from 'pg';
import { ChangeFeed, type ChangeFeedOptions } from './change-feed';
import { guarded } from './faults';
import { migrate } from './migrations';
import { PgPolicyState, type PgPolicyStateOptions } from './pg-policy-state';

/** How a gateway's connection pool behaves (one pool per gateway, shared by everything it keeps on the database). */
export interface PgPoolOptions {
  /** Connections this gateway keeps (default 10). */
  maxConnections?: number;
  /** How long a request waits for a connection, queueing included, before StoreUnavailableError (default 5000). */
  connectTimeoutMs?: number;
  /** The server cancels a statement after this long, lock waits included (default 10000). */
  statementTimeoutMs?: number;
  /** Where an idle connection's error goes (the pool replaces the connection); never thrown. */
  onIdleError?: (e: Error) => void;
}

export interface PgGateStateOptions extends PgPoolOptions, PgPolicyStateOptions {
  /** postgres://user:password@host:port/database (libpq's URL form). */
  url: string;
  feed?: ChangeFeedOptions;
}

/** A gateway's pool on `url` (postgres://user:password@host:port/database, libpq's URL form). */
export function createPool(url: string, opts: PgPoolOptions = {}): pg.Pool {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) throw new TypeError('url must be a postgres:// URL');
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    statement_timeout: opts.statementTimeoutMs ?? 10_000,
    application_name: 'kmsgate',
  });
  // Without a listener, an idle connection's error (the server restarted) would end the process.
  pool.on('error', (e) => opts.onIdleError?.(e));
  return pool;
}

export interface PgGateState {
  state: PgPolicyState;
  feed: ChangeFeed;
  pool: pg.Pool;
  /** Stops the feed and closes every connection. */
  close(): Promise<void>;
}

export async function openPgGateState(opts: PgGateStateOptions): Promise<PgGateState> {
  const pool = createPool(opts.url, opts);
  try {
    await guarded('migrate', () => migrate(pool));
    const feed = new ChangeFeed(pool, opts.feed);
    const state = new PgPolicyState(pool, feed, opts);
    await feed.start();
    return {
      state,
      feed,
      pool,
      async close() {
        feed.stop();
        await pool.end();
      },
    };
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}
