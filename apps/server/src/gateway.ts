import { readFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { PolicyEngine, type PolicyStateStore, type SigningLedger } from '@kmsgate/policy';
import { StoreLocationError, type AuditLog, type GatewayStore } from '@kmsgate/store';
import { openGatewayStore } from '@kmsgate/store-open';
import { createApp } from './app';
import { AuthRefusals } from './auth/refusals';
import { createBackendHealth, startBackendMonitor } from './backend-health';
import { startBackends, type StartedBackends } from './backends';
import { ConfigError, readBackendPassword, storeSpec, type GatewayConfig } from './config';
import { createDeletionSweeper, type SweepResult } from './deletion-sweeper';
import { createRotationSweeper, type RotationSweepResult } from './rotation/rotation-sweeper';
import { createDeviceLogWitness, type DeviceLogTarget } from './device-log-witness';
import { clientAddressResolver } from './http/client-address';
import { edge } from './http/edge';
import { ConcurrencyBudget, RateLimiter } from './http/limits';
import { listen } from './http/listen';
import { loadTlsMaterial, type TlsMaterial } from './http/tls';
import type { Logger } from './log';
import { createMetrics, type Metrics } from './metrics';
import { createInflight, drainServer } from './shutdown';
import { createSigningGates } from './signing/gates';
import { SigningPipeline } from './signing/pipeline';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const VERSION: string = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface Gateway {
  url: string;
  port: number;
  /** What the gateway keeps: keys, API keys, signing state, the audit log. */
  store: GatewayStore;
  backends: StartedBackends;
  audit: AuditLog;
  metrics: Metrics;
  /** Refusals of unauthenticated and throttled requests, waiting for their aggregated audit record. */
  authRefusals: AuthRefusals;
  /** The deletion pass started with the gateway (keys that fell due while it was down). */
  startupSweep: Promise<SweepResult>;
  /** The backend check made at start (kmsgate_backend_up is set once it settles; it never rejects). */
  backendsChecked: Promise<void>;
  /** Runs a deletion pass now (joins one that is running); the timer does this every minute. */
  sweepDeletions(): Promise<SweepResult>;
  /** The automatic rotation pass started with the gateway (keys that fell due while it was down). */
  startupRotation: Promise<RotationSweepResult>;
  /** Rotates every key whose automatic rotation is due, now (joins a running pass); the timer does this every minute. */
  sweepRotations(): Promise<RotationSweepResult>;
  /** The certificate served now, with `server.tls`; undefined for plain HTTP. */
  readonly tls: TlsMaterial | undefined;
  /**
   * Reads `server.tls`'s files again and serves them to new connections. A pair that would be
   * refused at start (a key that is not the certificate's, a key file others may read) throws
   * ConfigError and the certificate served stays as it was.
   */
  reloadTls(): TlsMaterial;
  /** Runs the device-log reconciliation of every backend with `deviceLog` now; the timers do this every `intervalSeconds`. */
  reconcileDeviceLogs(): Promise<void>;
  /** Requests being served now (from arrival until the answer is handed to the OS). */
  readonly inflight: number;
  /**
   * Stops accepting, lets the requests in flight finish (at most `server.shutdownDeadlineMs`, or
   * `deadlineMs`), then stops the timers and closes the backends (device sessions) and the store.
   * Resolves with how many requests were cut off at the deadline.
   */
  close(opts?: { deadlineMs?: number }): Promise<{ abandoned: number }>;
}

export interface GatewayOptions {
  /** The gateway's clock: request signing windows, key creation and deletion dates. Tests move it. */
  now?: () => Date;
  /** How often due key deletions are carried out (default 60 s). */
  deletionSweepIntervalMs?: number;
  /** How often keys due for automatic rotation are rotated (default 60 s). */
  rotationSweepIntervalMs?: number;
  /**
   * How often the backends are checked for kmsgate_backend_up when nothing else asks (default 15 s;
   * 0: only once at start). Tests that count device requests turn the timer off.
   */
  backendCheckIntervalMs?: number;
  /**
   * The signing gates' state (kill switches, runtime policies, signing ledger, replay cache) from
   * elsewhere than the SQLite file: PostgreSQL's PgPolicyState of @kmsgate/store-pg, shared by
   * gateways (docs/scale-out.md); its `refresh` joins the store's once per request. Not yet chosen
   * by the configuration; default the SQLite store.
   */
  gateState?: PolicyStateStore & SigningLedger & { refresh?(): Promise<void> };
  /**
   * Opens the audit log elsewhere than in the SQLite file: PostgreSQL's PgAuditLog of
   * @kmsgate/store-pg, one chain for every gateway (docs/audit.md). Not yet chosen by the
   * configuration; default the store's own `openAudit`.
   */
  openAudit?: GatewayStore['openAudit'];
}

/** The JSONL mirror of the audit log, in the data dir (docs/audit.md). */
export const AUDIT_JSONL_FILE = 'audit.jsonl';

/** The YubiHSM 2 backends whose device logs the gateway reconciles, with their devices' connectors. */
function deviceLogTargets(config: GatewayConfig, started: StartedBackends): DeviceLogTarget[] {
  const targets: DeviceLogTarget[] = [];
  for (const b of config.backends) {
    if (b.type !== 'yubihsm' || !b.deviceLog) continue;
    const urls = b.connectors ? b.connectors.map((c) => c.url) : [b.connectorUrl ?? started.simulators.get(b.id)!.url];
    targets.push({
      backendId: b.id,
      connectorUrls: urls,
      authKeyId: b.deviceLog.authKeyId,
      password: readBackendPassword({ id: b.id, ...b.deviceLog }),
      intervalMs: b.deviceLog.intervalSeconds * 1000,
    });
  }
  return targets;
}

/**
 * Opens the store the configuration chooses (@kmsgate/store-open). Its refusals (StoreLocationError)
 * are configuration mistakes for the gateway, exit 2. It creates its store on first start (that is
 * how `npm start` works on a fresh clone), but never writes its tables into a database that is not
 * kmsgate's or was migrated by a newer kmsgate, and never makes a new credential.key beside API keys
 * whose SigV4 secrets are sealed under a missing one.
 */
async function openStore(config: GatewayConfig, env: NodeJS.ProcessEnv, now: () => Date): Promise<GatewayStore> {
  try {
    return await openGatewayStore(storeSpec(config, env), env, { create: true, now });
  } catch (e) {
    if (e instanceof StoreLocationError) throw new ConfigError(e.message);
    throw e;
  }
}

/** Opens the store, starts the backends and serves the app; the same path for `npm start` and tests. */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const now = options.now ?? (() => new Date());
  // Checked before anything is opened: a bad certificate or key is a configuration mistake (exit 2).
  let tls = config.server.tls ? loadTlsMaterial(config.server.tls) : undefined;
  const store = await openStore(config, env, now);
  const { keys, importTokens, rotations, apiKeys } = store;
  const gateState = options.gateState;
  const refresh = gateState?.refresh
    ? async () => {
        await Promise.all([store.refresh(), gateState.refresh!()]);
      }
    : () => store.refresh();
  let backends: StartedBackends | undefined;
  try {
    // The device-log witness needs the started backends; a backend's full log is released through it.
    let releaseDeviceLog = (_backendId: string): Promise<void> => Promise.resolve();
    backends = await startBackends(config, logger, { releaseDeviceLog: (id) => releaseDeviceLog(id) });
    // Refuses to start (AuditIntegrityError) when the JSONL mirror contradicts the database.
    const auditOptions = {
      jsonlPath: join(config.dataDir, AUDIT_JSONL_FILE),
      now,
      fsync: config.audit.fsync,
      groupWaitMs: config.audit.groupWaitMs,
      ...(config.audit.gatewayName !== undefined ? { gateway: config.audit.gatewayName } : {}),
    };
    const audit = await (options.openAudit ? options.openAudit(auditOptions) : store.openAudit(auditOptions));
    for (const note of audit.recovered) logger.warn('audit log repaired at start', { detail: note });
    const metrics = createMetrics();
    await keys.recordCustomKeyStores(
      backends.registry.all().map((b) => b.id),
      now(),
    );
    const policyState = gateState ?? store.policyState;
    const engine = new PolicyEngine({
      state: policyState,
      ledger: policyState,
      baseline: config.policies,
      replayWindowMs: config.replay.windowSeconds * 1000,
      now,
    });
    const health = createBackendHealth(backends.registry.all(), metrics, logger, config.limits.healthCacheMs);
    const refusals = new AuthRefusals(audit, metrics, logger, {
      intervalMs: config.audit.authRefusals.intervalSeconds * 1000,
      maxEntries: config.audit.authRefusals.maxEntries,
      now,
    });
    const limits = {
      perApiKey: new RateLimiter(config.limits.perApiKey, config.limits.maxTracked),
      clientAddress: clientAddressResolver(config.server.trustProxy),
      refusals,
      metrics,
    };
    const deviceLog = createDeviceLogWitness({
      logs: store.deviceLogs,
      keys,
      rotations,
      refresh,
      logger,
      metrics,
      now,
      targets: deviceLogTargets(config, backends),
    });
    releaseDeviceLog = (id) => deviceLog.release(id);
    const app = createApp({
      keys,
      importTokens,
      rotations,
      deviceLog: () => deviceLog.status(),
      apiKeys,
      backends: backends.registry,
      arn: { region: config.server.region, accountId: config.server.accountId },
      logger,
      version: VERSION,
      openapiPath: join(REPO_ROOT, 'openapi.yaml'),
      audit,
      metrics,
      signing: new SigningPipeline(createSigningGates(engine, policyState, apiKeys)),
      health,
      edge: limits,
      now,
    });
    const inflight = createInflight();
    const front = edge(
      {
        ...limits,
        apiKeys,
        store,
        logger,
        now,
        perSource: new RateLimiter(config.limits.perSource, config.limits.maxTracked),
        openEndpoints: new ConcurrencyBudget(config.limits.openEndpointsConcurrency),
      },
      app,
    );
    const server = await listen(inflight.wrap(front), config.server.host, config.server.port, config.server, tls);
    refusals.start();
    const port = (server.address() as AddressInfo).port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const started = backends;
    deviceLog.start();
    const sweeper = createDeletionSweeper({
      keys,
      rotations,
      importTokens,
      refresh,
      backends: started.registry,
      logger,
      now,
      intervalMs: options.deletionSweepIntervalMs,
    });
    // Not awaited: due keys are already gone for clients, and a device that is down must not hold
    // up the start (its deletions are retried on the timer).
    const startupSweep = sweeper.sweep();
    sweeper.start();
    const rotator = createRotationSweeper({
      keys,
      rotations,
      refresh,
      backends: started.registry,
      arn: { region: config.server.region, accountId: config.server.accountId },
      now,
      logger,
      intervalMs: options.rotationSweepIntervalMs,
    });
    // Not awaited either: until it runs, Encrypt uses the material that was current.
    const startupRotation = rotator.run();
    rotator.start();
    const monitor = startBackendMonitor(health, options.backendCheckIntervalMs);
    return {
      url: `${tls ? 'https' : 'http'}://${host}:${port}`,
      port,
      store,
      backends: started,
      audit,
      metrics,
      authRefusals: refusals,
      startupSweep,
      backendsChecked: monitor.first,
      sweepDeletions: () => sweeper.sweep(),
      startupRotation,
      sweepRotations: () => rotator.run(),
      get tls() {
        return tls;
      },
      reloadTls() {
        if (!config.server.tls || !('setSecureContext' in server)) throw new ConfigError('server.tls is not configured: there is no certificate to reload');
        const next = loadTlsMaterial(config.server.tls);
        // Connections already open keep the context they were made with; new ones get this.
        server.setSecureContext({ cert: next.cert, key: next.key });
        tls = next;
        return next;
      },
      reconcileDeviceLogs: () => deviceLog.run(),
      get inflight() {
        return inflight.count;
      },
      async close(opts = {}) {
        const drained = await drainServer(server, inflight, opts.deadlineMs ?? config.server.shutdownDeadlineMs);
        monitor.stop();
        await sweeper.stop();
        await rotator.stop();
        await deviceLog.stop();
        // The aggregated refusals are the only audit records not yet written; every other one was
        // committed before its request was answered.
        await refusals.stop();
        await started.close();
        await audit.close();
        await store.close();
        return drained;
      },
    };
  } catch (e) {
    await backends?.close();
    await store.close();
    throw e;
  }
}
