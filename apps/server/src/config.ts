import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KEY_SELECTOR, KEY_SELECTOR_MESSAGE, SigningPolicySchema } from '@kmsgate/policy';
import { resolveDataDir } from '@kmsgate/store';
import type { StoreSpec } from '@kmsgate/store-open';
import { trustProxyEntryProblem } from './http/client-address';

/**
 * The gateway's configuration: an optional YAML file (`KMSGATE_CONFIG`) plus a few environment
 * overrides. Validation is strict and fails closed: unknown fields and secrets placed in the YAML
 * refuse to start, with a message naming the field.
 */
/** Where a device password comes from: a file or an environment variable, never the YAML itself. */
const passwordSource = {
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
};
/** A second authentication key of the device (keyadmin, auditor) and its password's source. */
const deviceCredential = { authKeyId: z.number().int().min(1).max(0xfffe), ...passwordSource };
const oneSecretSource = (k: { passwordFile?: string; passwordEnv?: string }) => !!k.passwordFile !== !!k.passwordEnv;
const ONE_SECRET_SOURCE = 'set exactly one of passwordFile or passwordEnv';

const YubiHsmBackendSchema = z
  .object({
    id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'id must be 1-64 characters of [a-zA-Z0-9_-]'),
    type: z.literal('yubihsm'),
    name: z.string().min(1).max(256).optional(),
    /** yubihsm-connector base URL; omit together with `embedded: true` to run the simulator in-process. */
    connectorUrl: z.string().url().optional(),
    /** A device pool: devices holding the same keys, each behind its connector and named by its serial. */
    connectors: z
      .array(
        z
          .object({
            url: z.string().url(),
            serial: z.number().int().min(0).max(0xffff_ffff),
          })
          .strict(),
      )
      .min(1)
      .max(16)
      .optional(),
    embedded: z.boolean().optional(),
    statePath: z.string().min(1).optional(),
    authKeyId: z.number().int().min(1).max(0xfffe).default(1),
    ...passwordSource,
    domains: z.array(z.number().int().min(1).max(16)).min(1).default([1]),
    maxSessions: z.number().int().min(1).max(16).default(4),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** With connectorUrl: serial of the one device this backend may use; a connector leading elsewhere is refused. */
    serial: z.number().int().min(0).max(0xffff_ffff).optional(),
    /**
     * A second authentication key for creating and deleting keys (the keyadmin of `kmsgate hsm
     * setup`), so that the key everything else runs with (authKeyId) can only use keys.
     */
    keyAdmin: z.object(deviceCredential).strict().refine(oneSecretSource, ONE_SECRET_SOURCE).optional(),
    /**
     * The device log as a second witness (docs/yubihsm-setup.md, section 5): every `intervalSeconds`
     * the gateway reads each device's log with this authentication key (the auditor of `kmsgate hsm
     * setup`) and reconciles it with its own audit log, as `kmsgate hsm audit` does.
     */
    deviceLog: z
      .object({ ...deviceCredential, intervalSeconds: z.number().int().min(1).max(86_400).default(300) })
      .strict()
      .refine(oneSecretSource, ONE_SECRET_SOURCE)
      .optional(),
  })
  .strict();

function refineYubiHsmBackend(b: z.infer<typeof YubiHsmBackendSchema>, ctx: z.RefinementCtx): void {
  if ([b.connectorUrl, b.connectors, b.embedded || undefined].filter((x) => x !== undefined).length !== 1)
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'set exactly one of connectorUrl, connectors or embedded: true' });
  if ((b.connectorUrl || b.connectors) && !b.passwordFile && !b.passwordEnv)
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a connector backend needs passwordFile or passwordEnv (the password is never read from the YAML)' });
  if (b.keyAdmin && b.keyAdmin.authKeyId === b.authKeyId)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['keyAdmin', 'authKeyId'], message: 'keyAdmin must be another authentication key than authKeyId' });
  if (b.connectors && b.serial !== undefined)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['serial'], message: 'with connectors, give each device its serial there' });
  if (b.connectors) {
    const serials = b.connectors.map((c) => c.serial);
    if (new Set(serials).size !== serials.length)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['connectors'], message: 'each device of a pool must have its own serial' });
    const urls = b.connectors.map((c) => c.url);
    if (new Set(urls).size !== urls.length)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['connectors'], message: 'each device of a pool must have its own connector url' });
  }
}

/** Linux `sockaddr_un.sun_path` holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** An OP-TEE trusted application behind a bridge daemon's Unix socket (docs/tee-bridge-protocol.md). */
const TeeBackendSchema = z
  .object({
    id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'id must be 1-64 characters of [a-zA-Z0-9_-]'),
    type: z.literal('tee'),
    name: z.string().min(1).max(256).optional(),
    /** The bridge daemon's socket; omit together with `embedded: true` to run tee-sim in-process. */
    socketPath: z
      .string()
      .min(1)
      .refine((p) => Buffer.byteLength(p) <= MAX_SOCKET_PATH_BYTES, `must be at most ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket path limit)`)
      .optional(),
    embedded: z.boolean().optional(),
    statePath: z.string().min(1).optional(),
    connectTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
    requestTimeoutMs: z.number().int().min(10).max(600_000).default(10_000),
    /** Calls admitted at once (queued plus in flight); one more is ThrottlingException. */
    maxOutstanding: z.number().int().min(1).max(1024).default(32),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).max(1000).default(5),
        cooldownMs: z.number().int().min(100).max(3_600_000).default(10_000),
      })
      .strict()
      .default({}),
  })
  .strict();

function refineTeeBackend(b: z.infer<typeof TeeBackendSchema>, ctx: z.RefinementCtx): void {
  if (!!b.socketPath === !!b.embedded) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'set exactly one of socketPath or embedded: true' });
  if (b.statePath && !b.embedded)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['statePath'], message: 'statePath is only for an embedded simulator (embedded: true)' });
}

const BackendSchema = z.discriminatedUnion('type', [YubiHsmBackendSchema, TeeBackendSchema]).superRefine((b, ctx) => {
  if (b.type === 'yubihsm') refineYubiHsmBackend(b, ctx);
  else refineTeeBackend(b, ctx);
});

/** The schemes node-postgres (and libpq) accept for a connection URL. */
const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

/** What is wrong with `store.url`, if anything; never echoes the URL, which may hold a password. */
function storeUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL like postgres://kmsgate@db.example:5432/kmsgate';
  }
  if (!POSTGRES_SCHEMES.includes(url.protocol))
    return `must be a postgres:// or postgresql:// URL, not ${url.protocol.replace(/:$/, '')}:// (leave store.url out for the embedded SQLite store)`;
  if (url.password !== '') return 'must not hold a password: put it in the file store.passwordFile names (or the variable store.passwordEnv names)';
  if (url.pathname.length <= 1) return 'must name the database (…/kmsgate)';
  return undefined;
}

/**
 * Where the gateway keeps its state (docs/configuration.md, "store"): without `url`, the embedded
 * SQLite store in the data dir; with a postgres:// url, one PostgreSQL database the gateways share
 * (docs/scale-out.md). The rest only applies to PostgreSQL.
 */
const StoreSchema = z
  .object({
    url: z
      .string()
      .superRefine((url, ctx) => {
        const problem = storeUrlProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      })
      .optional(),
    /** The database password's source; the URL itself must not hold it. */
    ...passwordSource,
    /** Connections this gateway keeps to the database. */
    maxConnections: z.number().int().min(1).max(1000).optional(),
    /** The database cancels a statement (lock waits included) after this long; the request answers 503. */
    statementTimeoutMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.passwordFile && s.passwordEnv) ctx.addIssue({ code: z.ZodIssueCode.custom, message: ONE_SECRET_SOURCE });
    if (s.url !== undefined) return;
    for (const option of ['passwordFile', 'passwordEnv', 'maxConnections', 'statementTimeoutMs'] as const) {
      if (s[option] !== undefined)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [option], message: 'only applies to PostgreSQL (store.url); the embedded SQLite store has none' });
    }
  });

/** A gateway's name in the audit chain: printable ASCII (it is shown in tables and logs), no space at either end. */
const GATEWAY_NAME = /^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** A token bucket: `burst` requests at once, refilled at `requestsPerSecond`. */
const RateLimitSchema = z
  .object({
    requestsPerSecond: z.number().min(0.001).max(1_000_000),
    burst: z.number().int().min(1).max(1_000_000),
  })
  .strict();

const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
          .default('us-east-1'),
        accountId: z
          .string()
          .regex(/^\d{12}$/)
          .default('111122223333'),
        /** The request head must arrive within this; then 408 and the connection is closed. */
        headersTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
        /** Head and body must arrive within this; then 408 and the connection is closed. */
        requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        /**
         * An idle keep-alive connection is closed after this. Longer than clients' own idle timeouts,
         * so the client closes first and never sends on a socket the server is closing.
         */
        keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(65_000),
        /** Connections open at once; more are closed as soon as they are accepted. */
        maxConnections: z.number().int().min(1).max(100_000).default(1024),
        /** On SIGTERM/SIGINT, how long requests in flight may take to finish before they are cut. */
        shutdownDeadlineMs: z.number().int().min(0).max(600_000).default(30_000),
        /**
         * Peers whose X-Forwarded-For is believed (addresses or CIDRs): the client address of their
         * requests is the one they report (http/client-address.ts). Empty: the header is ignored.
         */
        trustProxy: z
          .array(
            z.string().superRefine((entry, ctx) => {
              const problem = trustProxyEntryProblem(entry);
              if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
            }),
          )
          .max(64)
          .default([]),
        /** Serve HTTPS with this certificate (chain) and key, both PEM; both files are read again on SIGHUP. */
        tls: z
          .object({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    store: StoreSchema.default({}),
    defaultBackend: z.string().optional(),
    /** Refuse every simulated backend: `embedded: true` here, and a TEE bridge whose hello says mode "simulated". */
    production: z.boolean().default(false),
    backends: z.array(BackendSchema).min(1),
    /**
     * Per-key signing policies (docs/policy.md), by key id or alias name: the baseline that policies
     * set at runtime through the admin API override, key by key.
     */
    policies: z.record(z.string().regex(KEY_SELECTOR, KEY_SELECTOR_MESSAGE), SigningPolicySchema).default({}),
    /** An identical Sign request to a key with a policy inside this window gets the stored signature (0: off). */
    replay: z
      .object({
        windowSeconds: z.number().int().min(0).max(3600).default(120),
      })
      .strict()
      .default({}),
    /** The audit log (docs/audit.md); its JSONL mirror is always <data dir>/audit.jsonl. */
    audit: z
      .object({
        /**
         * This gateway's name in the shared audit chain (PostgreSQL: every record names the gateway
         * that wrote it). Default: the host name and 8 hex digits of the data dir's SHA-256.
         */
        gatewayName: z.string().regex(GATEWAY_NAME, 'must be 1-64 printable ASCII characters, without control characters or spaces at either end').optional(),
        /** fdatasync each record (JSONL line and SQLite commit) before a signature is returned. */
        fsync: z.boolean().default(true),
        /** How long a group commit waits at most for the records of Signs still at the device (docs/audit.md). */
        groupWaitMs: z.number().int().min(0).max(1000).default(5),
        /** Refusals of unauthenticated and throttled requests, written in aggregate (docs/audit.md). */
        authRefusals: z
          .object({
            intervalSeconds: z.number().int().min(1).max(3600).default(60),
            /** Distinct (source, API key, reason) records per interval; more sources share one record. */
            maxEntries: z.number().int().min(1).max(100_000).default(1000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /** What one client may ask of the gateway (docs/configuration.md, "limits"). */
    limits: z
      .object({
        perSource: RateLimitSchema.default({ requestsPerSecond: 1000, burst: 2000 }),
        perApiKey: RateLimitSchema.default({ requestsPerSecond: 1000, burst: 2000 }),
        /** Sources and API keys whose buckets are remembered; the least recently seen is forgotten first. */
        maxTracked: z.number().int().min(1).max(1_000_000).default(10_000),
        /** GET /attestation and GET /RollbackCounter in progress at once, all callers together. */
        openEndpointsConcurrency: z.number().int().min(1).max(64).default(2),
        /** How long GET /health answers from its last device check. */
        healthCacheMs: z.number().int().min(0).max(60_000).default(2_000),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.production) {
      c.backends.forEach((b, i) => {
        if (b.embedded)
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['backends', i, 'embedded'], message: 'production: true refuses an embedded simulator' });
      });
    }
    if (c.server.headersTimeoutMs > c.server.requestTimeoutMs)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['server', 'headersTimeoutMs'], message: 'must not be greater than server.requestTimeoutMs' });
    const ids = c.backends.map((b) => b.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'backend ids must be unique' });
    if (c.audit.gatewayName !== undefined && c.store.url === undefined)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['audit', 'gatewayName'],
        message: 'only applies to PostgreSQL (store.url): the embedded SQLite store has one gateway and names none',
      });
    if (c.defaultBackend && !ids.includes(c.defaultBackend))
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['defaultBackend'], message: `no backend has id ${c.defaultBackend}` });
  });

export type YubiHsmBackendConfig = z.infer<typeof YubiHsmBackendSchema>;
export type TeeBackendConfig = z.infer<typeof TeeBackendSchema>;
export type StoreConfig = z.infer<typeof StoreSchema>;
export type GatewayConfig = z.infer<typeof ConfigSchema> & { dataDir: string; source: string };

export class ConfigError extends Error {}

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration in ${source}: ${describeIssues(parsed.error)}`);
  const cfg = parsed.data;
  // KMS_DB_PATH picks the SQLite file; with store.url nothing would read it, so a mix-up is refused.
  if (cfg.store.url !== undefined && env.KMS_DB_PATH)
    throw new ConfigError(`invalid configuration in ${source}: store.url chooses PostgreSQL, but KMS_DB_PATH names an SQLite store: unset one of them`);
  if (env.HOST) cfg.server.host = env.HOST;
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be an integer 0-65535, got ${env.PORT}`);
    cfg.server.port = port;
  }
  return { ...cfg, dataDir: resolveDataDir(env), source };
}

/**
 * Without KMSGATE_CONFIG the gateway runs on its embedded default: a YubiHSM 2 simulator (the
 * default backend, id `yubihsm`) and a TEE simulator (id `tee`), both keeping their state in the
 * data dir; KMSGATE_YUBIHSM_URL replaces the first with a real connector, KMSGATE_TEE_SOCKET the
 * second with a real bridge daemon.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const path = env.KMSGATE_CONFIG;
  if (path) {
    let text: string;
    try {
      text = readFileSync(resolve(path), 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read KMSGATE_CONFIG ${path}: ${(e as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (e) {
      throw new ConfigError(`KMSGATE_CONFIG ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    return parseConfig(raw ?? {}, path, env);
  }
  const backend = env.KMSGATE_YUBIHSM_URL
    ? { id: 'yubihsm', type: 'yubihsm', connectorUrl: env.KMSGATE_YUBIHSM_URL, passwordEnv: 'KMSGATE_YUBIHSM_PASSWORD' }
    : { id: 'yubihsm', type: 'yubihsm', name: 'Embedded YubiHSM 2 simulator', embedded: true };
  const tee = env.KMSGATE_TEE_SOCKET
    ? { id: 'tee', type: 'tee', socketPath: env.KMSGATE_TEE_SOCKET }
    : { id: 'tee', type: 'tee', name: 'Embedded TEE simulator', embedded: true };
  return parseConfig({ defaultBackend: 'yubihsm', backends: [backend, tee] }, 'built-in default', env);
}

/**
 * Reads a backend password from its file or environment variable. A password file that group or
 * others can read is refused: the password unlocks every key in the device.
 */
export function readBackendPassword(b: Pick<YubiHsmBackendConfig, 'id' | 'passwordFile' | 'passwordEnv'>, env: NodeJS.ProcessEnv = process.env): string {
  // Only the embedded simulator has neither; its factory default auth key has this password.
  return readPassword(`backend ${b.id}`, b, env) ?? 'password';
}

/**
 * What `startGateway` and every CLI command open (@kmsgate/store-open): the configuration's `store`
 * with its password read, under the same rules as a device password.
 */
export function storeSpec(config: Pick<GatewayConfig, 'store'>, env: NodeJS.ProcessEnv = process.env): StoreSpec {
  const { url, maxConnections, statementTimeoutMs } = config.store;
  if (url === undefined) return {};
  const password = readPassword('store', config.store, env);
  return {
    url,
    ...(password !== undefined ? { password } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(statementTimeoutMs !== undefined ? { statementTimeoutMs } : {}),
  };
}

/** A password from its file (which only its owner may read) or environment variable; undefined when neither is configured. */
function readPassword(owner: string, src: { passwordFile?: string; passwordEnv?: string }, env: NodeJS.ProcessEnv): string | undefined {
  if (src.passwordFile) {
    const st = statSync(src.passwordFile, { throwIfNoEntry: false });
    if (!st) throw new ConfigError(`${owner}: passwordFile ${src.passwordFile} does not exist`);
    if ((st.mode & 0o077) !== 0)
      throw new ConfigError(`${owner}: passwordFile ${src.passwordFile} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    return readFileSync(src.passwordFile, 'utf8').replace(/\r?\n$/, '');
  }
  if (src.passwordEnv) {
    const v = env[src.passwordEnv];
    if (!v) throw new ConfigError(`${owner}: environment variable ${src.passwordEnv} is not set`);
    return v;
  }
  return undefined;
}
