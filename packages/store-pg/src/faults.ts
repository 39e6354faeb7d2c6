/**
 * Which driver errors mean "the database could not be reached or did not answer" — turned into the
 * contract's StoreUnavailableError (the server answers 503 DependencyTimeoutException) — and how a
 * transaction runs on one checked-out client (node-postgres: never through pool.query).
 */
import { StoreUnavailableError } from '@kmsgate/policy';
import type { Pool, PoolClient } from 'pg';

/** Socket-level failures reaching the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/**
 * SQLSTATEs of a server that is going away or refusing work (PostgreSQL appendix A): class 08
 * connection exception, 57P01-57P03 shutdown / crash / cannot connect now, 53300 too many
 * connections, 57014 query canceled (our statement_timeout).
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[123]|53300|57014)$/;

/** node-postgres's own messages for a connection that timed out or died under a query. */
const DRIVER_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection error|Client was closed/i;

export function isUnavailable(e: unknown): boolean {
  // Duck-typed: socket errors come from Node's core, which need not share this module's Error.
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.test(code))) return true;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}

/** Runs `fn`; an unavailability fault becomes StoreUnavailableError (the driver's error is its cause, for the log). */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isUnavailable(e)) throw new StoreUnavailableError(`PostgreSQL did not answer (${what}): ${String((e as { message?: unknown }).message)}`, { cause: e });
    throw e;
  }
}

/**
 * `fn` in one READ COMMITTED transaction on one client. A client whose connection failed (or
 * whose ROLLBACK did) is destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client has no listener of its own: a connection lost under a query would
  // otherwise be an uncaught 'error' event. The query's own rejection reports it.
  const onError = (e: Error) => {
    broken = e;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    try {
      await client.query('ROLLBACK');
    } catch (r) {
      broken = r instanceof Error ? r : new Error(String(r));
    }
    throw e;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
