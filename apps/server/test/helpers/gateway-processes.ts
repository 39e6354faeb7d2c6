import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KMSClient } from '@aws-sdk/client-kms';
import { REPO_ROOT } from '../../src/gateway';

/**
 * Gateways as an operator runs them when several share one store (docs/scale-out.md): each
 * `kmsgate serve` a process of its own with its own data directory and configuration file, all
 * with the same credential.key and `store.url`, and the `kmsgate` CLI run against that store as
 * further processes. Used by scale-out-e2e.test.ts.
 */
const KMSGATE_BIN = join(REPO_ROOT, 'apps', 'kmsgate', 'bin', 'kmsgate.cjs');

/** The password of a fresh simulator's authentication key 1 (its factory default). */
const SIM_PASSWORD = 'password';

export interface SharedStoreSetup {
  /** postgres://… of the one database every gateway and the CLI use. */
  storeUrl: string;
  /** The YubiHSM 2 every gateway reaches through its connector URL. */
  connectorUrl: string;
  /** 32 bytes, written as every gateway's credential.key (the SigV4 secrets in the store are sealed under it). */
  credentialKey: Uint8Array;
}

export function newCredentialKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/**
 * A gateway's data directory (with the shared credential.key) and configuration file; returns the
 * environment `kmsgate` needs to run on it (serve and every CLI command alike).
 */
export function prepareGatewayDir(dir: string, setup: SharedStoreSetup): NodeJS.ProcessEnv {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'credential.key'), setup.credentialKey, { mode: 0o600 });
  const config = join(dir, 'kmsgate.yaml');
  // store.url may not hold the database's password: it comes from the environment, as the device's does.
  const url = new URL(setup.storeUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  // JSON is YAML; the file has no password in it (passwordEnv).
  writeFileSync(
    config,
    JSON.stringify(
      {
        store: { url: url.toString(), ...(password !== '' ? { passwordEnv: 'KMSGATE_STORE_PASSWORD' } : {}) },
        backends: [{ id: 'yubihsm', type: 'yubihsm', connectorUrl: setup.connectorUrl, passwordEnv: 'KMSGATE_YUBIHSM_PASSWORD' }],
      },
      null,
      2,
    ),
  );
  return {
    KMSGATE_CONFIG: config,
    KMSGATE_DATA_DIR: dir,
    KMS_DB_PATH: '',
    KMSGATE_YUBIHSM_PASSWORD: SIM_PASSWORD,
    KMSGATE_STORE_PASSWORD: password,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
}

export interface GatewayProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** Every line the gateway logged (JSON), for a failing test's message. */
  log: string[];
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** SIGKILL: the process dies wherever it is, a write half done. Resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `kmsgate serve` as a child process; resolves once it logs where it listens. */
export async function startGatewayProcess(name: string, env: NodeJS.ProcessEnv): Promise<GatewayProcess> {
  // The bin registers tsx in-process: one process, so a signal reaches the gateway itself.
  const child = spawn(process.execPath, [KMSGATE_BIN, 'serve'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'kmsgate listening' && entry.url) resolve(entry.url);
      } catch {
        // Not a log line (a stack trace): kept in `log`.
      }
    });
    void exited.then((code) => reject(new Error(`gateway ${name} exited (${code}) before listening:\n${log.join('\n')}`)));
  });
  return {
    name,
    url,
    child,
    log,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One `kmsgate …` command as a process of its own, on a gateway's environment. */
export function kmsgateCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [KMSGATE_BIN, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** What `api-key generate --json` prints. */
export interface GeneratedApiKey {
  id: string;
  apiKey: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export async function generateApiKey(env: NodeJS.ProcessEnv, label: string, role: 'admin' | 'signer'): Promise<GeneratedApiKey> {
  const r = await kmsgateCli(env, 'api-key', 'generate', '--label', label, '--role', role, '--json');
  if (r.code !== 0) throw new Error(`api-key generate exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as GeneratedApiKey;
}

/**
 * Resolves once every gateway in `gateways` knows `k` (polled: a key the CLI just wrote reaches a
 * running gateway through the store's change feed, within its staleness bound, not at once). Any
 * answer but an unrecognized credential or a 503 (the store not reached in time) means known.
 */
export async function untilKnown(k: GeneratedApiKey, ...gateways: GatewayProcess[]): Promise<void> {
  for (const g of gateways)
    await pollUntil(
      async () => {
        const res = await fetch(g.url, {
          method: 'POST',
          headers: { 'x-api-key': k.apiKey, 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
          body: '{}',
        });
        await res.arrayBuffer();
        return { status: res.status, type: res.headers.get('x-amzn-errortype') ?? '' };
      },
      (r) => r.status !== 503 && !r.type.startsWith('UnrecognizedClientException'),
    );
}

const clients = new Map<string, KMSClient>();

/**
 * The real AWS SDK against one gateway, signing with SigV4 (one client per gateway and API key,
 * reused). No retries, so every outcome is seen as it was answered; sockets enough that hundreds
 * of requests are at the gateway at once rather than queued in the client.
 */
export function kmsClient(g: GatewayProcess, k: GeneratedApiKey): KMSClient {
  const id = `${g.url} ${k.accessKeyId}`;
  let client = clients.get(id);
  if (client === undefined) {
    client = new KMSClient({
      endpoint: g.url,
      region: 'us-east-1',
      credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey },
      maxAttempts: 1,
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 512 }) },
    });
    clients.set(id, client);
  }
  return client;
}

/** Closes every client's sockets. */
export function closeKmsClients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}

/** A request to the admin API with an x-api-key. */
export async function adminCall(
  g: GatewayProcess,
  k: GeneratedApiKey,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(g.url + path, {
    method,
    headers: { 'x-api-key': k.apiKey, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  return { status: res.status, json };
}

/**
 * Calls `probe` until `done` holds for what it returns; between calls it yields to the event loop
 * for a few milliseconds (what is polled is another process). The test's timeout is the only bound.
 */
export async function pollUntil<T>(probe: () => Promise<T>, done: (v: T) => boolean): Promise<{ value: T; polls: number }> {
  for (let polls = 1; ; polls++) {
    const value = await probe();
    if (done(value)) return { value, polls };
    await new Promise((r) => setTimeout(r, 10));
  }
}
