import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { ApiKeyStore, loadOrCreateSealKey, openDb, resolveDbPath, type Db } from '@kmsgate/store';
import { parseConfig } from '../../src/config';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway';
import { silentLogger, type Logger } from '../../src/log';

export interface Credentials {
  id: string;
  apiKey: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  dataDir: string;
  /**
   * A connection of the test's own to the gateway's SQLite file, as the CLIs open it: for what the
   * tests look at or set up below the contract (audit rows, device handles, a stale rotation mark).
   */
  db: Db;
  admin: Credentials;
  apiKeys: ApiKeyStore;
  newKey(role: 'admin' | 'signer', label?: string): Credentials;
  client(creds?: Credentials, opts?: { region?: string; systemClockOffset?: number }): KMSClient;
  /** Raw awsJson call with x-api-key, for what an SDK will not send; a `null` header is left out. */
  call(target: string, body: unknown, headers?: Record<string, string | null>): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  /** Stops the gateway; the data dir is removed unless `keepData` (to start again on it). */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface TestGatewayOptions {
  /** The gateway's clock (default: real time). */
  now?: () => Date;
  /** Start on an existing data dir (a restart); default a new temporary one. */
  dataDir?: string;
  /** Backend entries of the configuration; default DEFAULT_TEST_BACKENDS. */
  backends?: Record<string, unknown>[];
  /** How often the deletion sweeper runs (default 60 s). */
  deletionSweepIntervalMs?: number;
  /** The configuration's `policies:` (docs/policy.md), by key id or alias name. */
  policies?: Record<string, unknown>;
  /** The configuration's `replay:` (default window 120 s). */
  replay?: { windowSeconds: number };
  /** The configuration's `audit:` (default: fsync every record). */
  audit?: Record<string, unknown>;
  /** More of the configuration's `server:` (port is always 0). */
  server?: Record<string, unknown>;
  /** The configuration's `limits:`. */
  limits?: Record<string, unknown>;
  /** Where the gateway logs (default: nowhere). */
  logger?: Logger;
  /** The signing gates' state from elsewhere than the SQLite file (GatewayOptions.gateState). */
  gateState?: GatewayOptions['gateState'];
  /** The audit log from elsewhere than the SQLite file (GatewayOptions.openAudit). */
  openAudit?: GatewayOptions['openAudit'];
}

/**
 * Both embedded simulators, as `npm start` runs them: the YubiHSM 2 one (id `yubihsm`, the default
 * backend) and the TEE one (id `tee`, reached with CustomKeyStoreId 'tee').
 */
export const DEFAULT_TEST_BACKENDS: Record<string, unknown>[] = [
  { id: 'yubihsm', type: 'yubihsm', embedded: true },
  { id: 'tee', type: 'tee', embedded: true },
];

/**
 * A real gateway: real SQLite file in a temporary data dir, the YubiHSM 2 simulator over HTTP on
 * an ephemeral port, the TEE simulator over a Unix socket, the real Express server on another
 * port. Nothing of ours is mocked.
 */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'kmsgate-e2e-'));
  const env = { KMSGATE_DATA_DIR: dataDir } as NodeJS.ProcessEnv;
  const config = parseConfig(
    {
      server: { ...opts.server, port: 0 },
      backends: opts.backends ?? DEFAULT_TEST_BACKENDS,
      ...(opts.policies ? { policies: opts.policies } : {}),
      ...(opts.replay ? { replay: opts.replay } : {}),
      ...(opts.audit ? { audit: opts.audit } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    },
    'test',
    env,
  );
  const gateway = await startGateway(config, opts.logger ?? silentLogger, env, {
    // No periodic backend check: tests count device requests, and a check would be one of them at
    // a moment that depends on how loaded the machine is. The check at start is waited for below.
    backendCheckIntervalMs: 0,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.deletionSweepIntervalMs ? { deletionSweepIntervalMs: opts.deletionSweepIntervalMs } : {}),
    ...(opts.gateState ? { gateState: opts.gateState } : {}),
    ...(opts.openAudit ? { openAudit: opts.openAudit } : {}),
  });
  await gateway.backendsChecked;
  const db = openDb(resolveDbPath(env));
  const apiKeys = new ApiKeyStore(db, loadOrCreateSealKey(dataDir));
  const newKey = (role: 'admin' | 'signer', label = `${role}-test`): Credentials => {
    const k = apiKeys.generate({ label, role });
    return { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  };
  const admin = newKey('admin');
  const clients: KMSClient[] = [];
  return {
    gateway,
    url: gateway.url,
    dataDir,
    db,
    admin,
    apiKeys,
    newKey,
    client(creds = admin, opts = {}) {
      const c = new KMSClient({
        endpoint: gateway.url,
        region: opts.region ?? 'us-east-1',
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
        maxAttempts: 1,
        ...(opts.systemClockOffset !== undefined ? { systemClockOffset: opts.systemClockOffset } : {}),
      });
      clients.push(c);
      return c;
    },
    async call(target, body, headers = {}) {
      const merged: Record<string, string | null> = {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `TrentService.${target}`,
        'x-api-key': admin.apiKey,
        ...headers,
      };
      const res = await fetch(gateway.url + '/', {
        method: 'POST',
        headers: Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== null)),
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    async stop({ keepData = false } = {}) {
      clients.forEach((c) => c.destroy());
      await gateway.close();
      db.close();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
