import type { Command } from 'commander';
import { join } from 'node:path';
import { ConfigError, loadConfig, storeSpec, type GatewayConfig } from '@kmsgate/server/config';
import { StoreLocationError, locateStore, resolveDataDir, type AuditInput, type AuditRecord, type GatewayStore, type StoreLocation } from '@kmsgate/store';
import { openGatewayStore, type OpenStoreOptions, type StoreSpec } from '@kmsgate/store-open';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** What a command module gets: the streams and environment, and the exit code to set. */
export interface CliContext {
  readonly io: CliIo;
  /** The process exit code once the command returns (0 unless set). */
  setExitCode(code: number): void;
}

/** One file per command group (commands/audit.ts, …) exports one of these; cli.ts lists them. */
export type CommandModule = (program: Command, ctx: CliContext) => void;

/** A usage or environment problem the user can fix; printed without a stack, exit code 2. */
export class CliError extends Error {}

/**
 * The store the server uses ($KMSGATE_DATA_DIR/kms.db, or $KMS_DB_PATH): a missing one (unless
 * `create`) or one that is not kmsgate's is a CliError (exit 2), before anything is written.
 */
export function locate(env: NodeJS.ProcessEnv, opts: { create?: boolean } = {}): StoreLocation {
  try {
    return locateStore(env, opts);
  } catch (e) {
    if (e instanceof StoreLocationError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * The configuration the gateway runs with, found as it finds it (KMSGATE_CONFIG, which `--config`
 * sets; without it the built-in default). A mistake in it is a CliError (exit 2), as it is the
 * gateway's.
 */
export function cliConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}

/** Which store the configuration chooses, with its password read (a missing or open password file is a CliError). */
export function cliStoreSpec(env: NodeJS.ProcessEnv): StoreSpec {
  try {
    return storeSpec(cliConfig(env), env);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * Opens the store the gateway uses (the configuration's `store`: the SQLite store in the data dir,
 * or the PostgreSQL database of store.url); the caller closes it. A store that is missing, not
 * kmsgate's or newer than this kmsgate is a CliError (exit 2), before anything is written.
 */
export async function openCliStore(env: NodeJS.ProcessEnv, opts: OpenStoreOptions): Promise<GatewayStore> {
  try {
    return await openGatewayStore(cliStoreSpec(env), env, opts);
  } catch (e) {
    if (e instanceof StoreLocationError) throw new CliError(e.message);
    throw e;
  }
}

/** `openCliStore`, then `f`, then the store closed. */
export async function withStore<T>(env: NodeJS.ProcessEnv, opts: OpenStoreOptions, f: (store: GatewayStore) => Promise<T> | T): Promise<T> {
  const store = await openCliStore(env, opts);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/**
 * For a command that works on this host's SQLite store itself: with store.url (PostgreSQL) it is
 * refused (exit 2) before anything is read, saying what to use instead.
 */
export function requireSqliteStore(env: NodeJS.ProcessEnv, refusal: string): void {
  if (cliConfig(env).store.url !== undefined) throw new CliError(`store.url names a PostgreSQL database: ${refusal}`);
}

/** Client-supplied text (a KeyId as sent) may hold control characters; never send them to a terminal raw. */
export function printable(value: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(value) ? JSON.stringify(value) : value;
}

/** Where the gateway writes the audit mirror (apps/server/src/gateway.ts AUDIT_JSONL_FILE). */
const AUDIT_JSONL_FILE = 'audit.jsonl';

/**
 * Records a change made from the CLI in the gateway's audit log (decision admin, no API key: the
 * operator at the host), into the same chain and JSONL mirror the gateway writes; resolves to the record.
 */
export async function auditCliChange(
  env: NodeJS.ProcessEnv,
  store: Pick<GatewayStore, 'openAudit'>,
  change: Pick<AuditInput, 'operation' | 'keyId' | 'summary'>,
): Promise<AuditRecord> {
  // Under the gateway's name (audit.gatewayName): the mirror it shares with the gateway holds one gateway's records.
  const { gatewayName } = cliConfig(env).audit;
  const audit = await store.openAudit({
    jsonlPath: join(resolveDataDir(env), AUDIT_JSONL_FILE),
    ...(gatewayName !== undefined ? { gateway: gatewayName } : {}),
  });
  try {
    return await audit.append({
      requestId: `cli-${process.pid}-${Date.now()}`,
      decision: 'admin',
      ...change,
    });
  } finally {
    await audit.close();
  }
}
