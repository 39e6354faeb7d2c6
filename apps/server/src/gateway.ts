import { readFileSync } from 'node:fs';
import { type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { PolicyEngine } from '@kmsgate/policy';
import { ApiKeyStore, AuditLog, KeyStore, SqlitePolicyState, loadOrCreateSealKey, openDb, resolveDbPath, type Db } from '@kmsgate/store';
import { createApp } from './app';
import { startBackends, type StartedBackends } from './backends';
import type { GatewayConfig } from './config';
import { createDeletionSweeper, type SweepResult } from './deletion-sweeper';
import type { Logger } from './log';
import { createMetrics, startBackendMonitor, type Metrics } from './metrics';
import { createSigningGates } from './signing/gates';
import { SigningPipeline } from './signing/pipeline';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const VERSION: string = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface Gateway {
  url: string;
  port: number;
  db: Db;
  backends: StartedBackends;
  audit: AuditLog;
  metrics: Metrics;
  /** The deletion pass started with the gateway (keys that fell due while it was down). */
  startupSweep: Promise<SweepResult>;
  /** The backend check made at start (kmsgate_backend_up is set once it settles; it never rejects). */
  backendsChecked: Promise<void>;
  /** Runs a deletion pass now (joins one that is running); the timer does this every minute. */
  sweepDeletions(): Promise<SweepResult>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** The gateway's clock: request signing windows, key creation and deletion dates. Tests move it. */
  now?: () => Date;
  /** How often due key deletions are carried out (default 60 s). */
  deletionSweepIntervalMs?: number;
  /**
   * How often the backends are checked for kmsgate_backend_up when nothing else asks (default 15 s;
   * 0: only once at start). Tests that count device requests turn the timer off.
   */
  backendCheckIntervalMs?: number;
}

/** The JSONL mirror of the audit log, in the data dir (docs/audit.md). */
export const AUDIT_JSONL_FILE = 'audit.jsonl';

/** Opens the store, starts the backends and serves the app; the same path for `npm start` and tests. */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const now = options.now ?? (() => new Date());
  const db = openDb(resolveDbPath(env));
  let backends: StartedBackends | undefined;
  try {
    backends = await startBackends(config, logger);
    const keys = new KeyStore(db, now);
    // Refuses to start (AuditIntegrityError) when the JSONL mirror contradicts the database.
    const audit = new AuditLog(db, { jsonlPath: join(config.dataDir, AUDIT_JSONL_FILE), now, fsync: config.audit.fsync });
    for (const note of audit.recovered) logger.warn('audit log repaired at start', { detail: note });
    const metrics = createMetrics();
    keys.recordCustomKeyStores(backends.registry.all().map((b) => b.id), now());
    const apiKeys = new ApiKeyStore(db, loadOrCreateSealKey(config.dataDir));
    const policyState = new SqlitePolicyState(db);
    const engine = new PolicyEngine({
      state: policyState, ledger: policyState, replay: policyState,
      baseline: config.policies, replayWindowMs: config.replay.windowSeconds * 1000, now,
    });
    const app = createApp({
      keys,
      apiKeys,
      backends: backends.registry,
      arn: { region: config.server.region, accountId: config.server.accountId },
      logger,
      version: VERSION,
      openapiPath: join(REPO_ROOT, 'openapi.yaml'),
      audit,
      metrics,
      signing: new SigningPipeline(createSigningGates(engine, policyState, apiKeys)),
      now,
    });
    const server: Server = await new Promise((ok, fail) => {
      const s = app.listen(config.server.port, config.server.host, () => ok(s));
      s.once('error', fail);
    });
    server.keepAliveTimeout = 65_000;
    const port = (server.address() as AddressInfo).port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const started = backends;
    const sweeper = createDeletionSweeper({ keys, backends: started.registry, logger, intervalMs: options.deletionSweepIntervalMs });
    // Not awaited: due keys are already gone for clients, and a device that is down must not hold
    // up the start (its deletions are retried on the timer).
    const startupSweep = sweeper.sweep();
    sweeper.start();
    const monitor = startBackendMonitor(started.registry.all(), metrics, options.backendCheckIntervalMs);
    return {
      url: `http://${host}:${port}`,
      port,
      db,
      backends: started,
      audit,
      metrics,
      startupSweep,
      backendsChecked: monitor.first,
      sweepDeletions: () => sweeper.sweep(),
      async close() {
        monitor.stop();
        await sweeper.stop();
        server.closeAllConnections();
        await new Promise<void>((ok) => server.close(() => ok()));
        await started.close();
        db.close();
      },
    };
  } catch (e) {
    await backends?.close();
    db.close();
    throw e;
  }
}
