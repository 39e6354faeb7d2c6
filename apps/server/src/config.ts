import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { resolveDataDir } from '@kmsgate/store';

/**
 * The gateway's configuration: an optional YAML file (`KMSGATE_CONFIG`) plus a few environment
 * overrides. Validation is strict and fails closed: unknown fields and secrets placed in the YAML
 * refuse to start, with a message naming the field.
 */
const YubiHsmBackendSchema = z.object({
  id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'id must be 1-64 characters of [a-zA-Z0-9_-]'),
  type: z.literal('yubihsm'),
  name: z.string().min(1).max(256).optional(),
  /** yubihsm-connector base URL; omit together with `embedded: true` to run the simulator in-process. */
  connectorUrl: z.string().url().optional(),
  embedded: z.boolean().optional(),
  statePath: z.string().min(1).optional(),
  authKeyId: z.number().int().min(1).max(0xfffe).default(1),
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  domains: z.array(z.number().int().min(1).max(16)).min(1).default([1]),
  maxSessions: z.number().int().min(1).max(16).default(4),
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
}).strict().superRefine((b, ctx) => {
  if (!!b.connectorUrl === !!b.embedded)
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'set exactly one of connectorUrl or embedded: true' });
  if (b.connectorUrl && !b.passwordFile && !b.passwordEnv)
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a connector backend needs passwordFile or passwordEnv (the password is never read from the YAML)' });
});

const ConfigSchema = z.object({
  server: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/).default('us-east-1'),
    accountId: z.string().regex(/^\d{12}$/).default('111122223333'),
  }).strict().default({}),
  defaultBackend: z.string().optional(),
  backends: z.array(YubiHsmBackendSchema).min(1),
}).strict().superRefine((c, ctx) => {
  const ids = c.backends.map((b) => b.id);
  if (new Set(ids).size !== ids.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'backend ids must be unique' });
  if (c.defaultBackend && !ids.includes(c.defaultBackend))
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['defaultBackend'], message: `no backend has id ${c.defaultBackend}` });
});

export type YubiHsmBackendConfig = z.infer<typeof YubiHsmBackendSchema>;
export type GatewayConfig = z.infer<typeof ConfigSchema> & { dataDir: string; source: string };

export class ConfigError extends Error {}

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration in ${source}: ${describeIssues(parsed.error)}`);
  const cfg = parsed.data;
  if (env.HOST) cfg.server.host = env.HOST;
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be an integer 0-65535, got ${env.PORT}`);
    cfg.server.port = port;
  }
  return { ...cfg, dataDir: resolveDataDir(env), source };
}

/**
 * Without KMSGATE_CONFIG the gateway runs on its embedded default: one YubiHSM 2 simulator whose
 * state lives in the data dir, or, with KMSGATE_YUBIHSM_URL, a real connector.
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
    return parseConfig(parseYaml(text) ?? {}, path, env);
  }
  const backend = env.KMSGATE_YUBIHSM_URL
    ? { id: 'yubihsm', type: 'yubihsm', connectorUrl: env.KMSGATE_YUBIHSM_URL, passwordEnv: 'KMSGATE_YUBIHSM_PASSWORD' }
    : { id: 'yubihsm', type: 'yubihsm', name: 'Embedded YubiHSM 2 simulator', embedded: true };
  return parseConfig({ backends: [backend] }, 'built-in default', env);
}

/**
 * Reads a backend password from its file or environment variable. A password file that group or
 * others can read is refused: the password unlocks every key in the device.
 */
export function readBackendPassword(b: YubiHsmBackendConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (b.passwordFile) {
    const st = statSync(b.passwordFile, { throwIfNoEntry: false });
    if (!st) throw new ConfigError(`backend ${b.id}: passwordFile ${b.passwordFile} does not exist`);
    if ((st.mode & 0o077) !== 0)
      throw new ConfigError(`backend ${b.id}: passwordFile ${b.passwordFile} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    return readFileSync(b.passwordFile, 'utf8').replace(/\r?\n$/, '');
  }
  if (b.passwordEnv) {
    const v = env[b.passwordEnv];
    if (!v) throw new ConfigError(`backend ${b.id}: environment variable ${b.passwordEnv} is not set`);
    return v;
  }
  // Only the embedded simulator gets here; its factory default auth key has this password.
  return 'password';
}
