import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { parse as parseYaml } from 'yaml';
import { KmsError, isKmsError, type ArnContext } from '@kmsgate/core';
import type { ApiKeyRepository, AuditLog, ImportTokenRepository, KeyRotationRepository, KeyRepository, Principal } from '@kmsgate/store';
import { errorType } from './audit-records';
import { authenticate, authorize } from './auth/authenticate';
import type { BackendRegistry } from './backends';
import { parseJsonBody, sendError, sendResult } from './http/aws-json';
import { adminRoutes } from './http/admin-routes';
import { teeRoutes } from './http/tee-routes';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import { findOperation } from './operations';
import { storeFault } from './store-fault';
import type { OperationContext } from './operations/operation';
import type { SigningPipeline } from './signing/pipeline';
import type { BackendHealth } from './backend-health';
import type { DeviceLogStatus } from './device-log-witness';
import { chargeApiKey, recordAuthRefusal, type EdgeLimits } from './http/edge';

/** Large enough for the biggest AWS input (a 128 KiB key policy, JSON-escaped); small enough to refuse abuse. */
export const MAX_BODY_BYTES = 512 * 1024;

export interface AppDeps {
  keys: KeyRepository;
  importTokens: ImportTokenRepository;
  rotations: KeyRotationRepository;
  /** Each audited backend's device-log reconciliation (device-log-witness.ts), for /health. */
  deviceLog?: () => ReadonlyMap<string, DeviceLogStatus>;
  apiKeys: ApiKeyRepository;
  backends: BackendRegistry;
  arn: ArnContext;
  logger: Logger;
  version: string;
  openapiPath: string;
  audit: AuditLog;
  metrics: Metrics;
  signing: SigningPipeline;
  /** The backends' last self-description, shared by /health and the monitor (backend-health.ts). */
  health: BackendHealth;
  /** The transport edge's limits and refusal counting (http/edge.ts). */
  edge: EdgeLimits;
  now?: () => Date;
}

/**
 * A backend's device-log reconciliation as /health shows it: counts and times only (the entries
 * and the reasons a run failed go to the log, never to this unauthenticated route).
 */
function deviceLogHealth(s: DeviceLogStatus | undefined): object {
  if (!s) return {};
  return {
    deviceLog: {
      ok: s.unexplained === 0 && s.problems.length === 0 && s.error === undefined && s.lastSuccessAt !== undefined,
      unreconciledSignatures: s.unexplained,
      problems: s.problems.length,
      ...(s.lastRunAt ? { lastRun: s.lastRunAt.toISOString() } : {}),
      ...(s.lastSuccessAt ? { lastSuccess: s.lastSuccessAt.toISOString() } : {}),
      failing: s.error !== undefined,
    },
  };
}

const TARGET_PREFIX = 'TrentService.';

/** The gateway's request listener: KMS operations (kmsHandler), then Express for everything else. */
export function createApp(deps: AppDeps): RequestListener {
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const openapiText = readFileSync(deps.openapiPath, 'utf8');
  app.get('/health', async (_req, res) => {
    const backends = await deps.health.current();
    const ok = backends.every((b) => b.connectionState === 'CONNECTED');
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'degraded',
      version: deps.version,
      backends: backends.map((b) => ({
        id: b.id,
        kind: b.kind,
        name: b.name,
        simulated: b.simulated,
        connectionState: b.connectionState,
        // A device pool serves while any device does; each device's own state is shown beside it.
        ...(b.devices
          ? { devices: b.devices.map((d) => ({ serial: d.serial, connectionState: d.connectionState, ...(d.error ? { error: d.error } : {}) })) }
          : {}),
        ...deviceLogHealth(deps.deviceLog?.().get(b.id)),
      })),
    });
  });
  app.get('/version', (_req, res) => {
    res.json({ name: 'kmsgate', version: deps.version });
  });
  // Open like /health: counts and latencies only, no key ids, no API key ids.
  app.get('/metrics', async (_req, res) => {
    const text = await deps.metrics.render();
    // Exactly prom-client's Content-Type (res.send would rewrite its parameters).
    res.status(200).setHeader('Content-Type', deps.metrics.contentType);
    res.end(text);
  });
  app.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(openapiText);
  });
  // A person who opens the gateway's address in a browser lands on the rendered contract.
  app.get('/', (_req, res) => {
    res.redirect(302, '/docs/');
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(parseYaml(openapiText) as swaggerUi.JsonObject));
  // GET /attestation and GET /RollbackCounter: open, like /health.
  app.use(teeRoutes(deps.backends, deps.logger));
  // /admin/…: runtime signing policies and kill switches, admin role only (http/admin-routes.ts).
  app.use(
    adminRoutes({
      keys: deps.keys,
      apiKeys: deps.apiKeys,
      arn: deps.arn,
      gates: deps.signing.gates,
      audit: deps.audit,
      metrics: deps.metrics,
      logger: deps.logger,
      now,
      maxBodyBytes: MAX_BODY_BYTES,
      edge: deps.edge,
    }),
  );

  app.use((req: Request, res: Response) => {
    res.status(404).json({ message: `No route for ${req.method} ${req.path}. KMS operations are POST / with X-Amz-Target: TrentService.<Operation>.` });
  });
  // Body-parser failures of the admin routes (too large, aborted) arrive here, before any handler.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, randomUUID(), bodyError(err));
  });

  const kms = kmsHandler(deps, now);
  // The KMS operations are the hot path: served straight from Node's request, without Express's
  // router and body parser (everything else is Express's).
  return (req, res) => {
    const operation = kmsOperationName(req);
    if (operation === undefined) app(req, res);
    else kms(req, res, operation);
  };
}

/**
 * The operation a KMS request names, '' when it names none; undefined when the request is not a
 * KMS request. POST / carries it in X-Amz-Target; POST /<Operation> in its path, because Swagger
 * UI's "try it out" cannot set X-Amz-Target per operation.
 */
function kmsOperationName(req: IncomingMessage): string | undefined {
  if (req.method !== 'POST') return undefined;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === '/') {
    const target = req.headers['x-amz-target'];
    return typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  }
  const segment = /^\/([^/]+)\/?$/.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

/** Transport only: read the body → authenticate → find → parse → run → render. What each step means is the operation's. */
function kmsHandler(deps: AppDeps, now: () => Date): (req: IncomingMessage, res: ServerResponse, operation: string) => void {
  return (req, res, opName) => {
    // Timed from before the body is read, so Server-Timing `total` covers everything kmsgate does.
    const started = performance.now();
    deps.metrics.requestStarted();
    const requestId = randomUUID();
    let backendMs = 0;
    let operation = opName;
    const op = findOperation(operation);
    // Metric and audit labels name only operations kmsgate knows: a client cannot mint new series.
    const opLabel = op?.name ?? 'unknown';
    let outcome = 'ok';
    let principal: Principal | undefined;
    const timing = () => ({ 'Server-Timing': serverTiming(started, backendMs) });
    const run = async () => {
      try {
        let body: Uint8Array;
        try {
          body = await readBody(req, MAX_BODY_BYTES);
        } catch (e) {
          throw bodyError(e);
        }
        // Deny by default: nothing about the request is looked at before the caller is known.
        try {
          principal = await authenticate({ method: req.method ?? 'POST', path: req.url ?? '/', headers: req.headersDistinct, body }, deps.apiKeys, now());
          chargeApiKey(deps.edge, principal);
          if (op) authorize(principal, op);
        } catch (e) {
          // The auth gate's refusals are audited (never the credential: only the API key id, once
          // known): one by one for a known caller, in aggregate for the unknown and the throttled.
          await recordAuthRefusal(deps.edge, deps.audit, deps.metrics, req, { requestId, operation: opLabel, reason: errorType(e), principal });
          throw e;
        }
        if (!op) {
          operation = operation || '(none)';
          throw new KmsError('UnknownOperationException');
        }
        const ctx: OperationContext = {
          keys: deps.keys,
          importTokens: deps.importTokens,
          rotations: deps.rotations,
          backends: deps.backends,
          arn: deps.arn,
          principal,
          requestId,
          operation: op.name,
          now,
          audit: deps.audit,
          metrics: deps.metrics,
          signing: deps.signing,
          async backendCall(call, backend) {
            const t0 = performance.now();
            try {
              return await call;
            } finally {
              const ms = performance.now() - t0;
              backendMs += ms;
              deps.metrics.backendCall(backend?.id ?? 'unknown', op.name, ms / 1000);
            }
          },
        };
        const { response } = await op.run(parseJsonBody(body), ctx);
        sendResult(res, requestId, response, timing());
        deps.logger.info('request', {
          requestId,
          client: deps.edge.clientAddress(req),
          operation,
          principal: principal.apiKeyId,
          status: 200,
          ms: elapsed(started),
        });
      } catch (e) {
        const err = toKmsError(e, deps.logger, requestId);
        outcome = err.type;
        sendError(res, requestId, err, { headers: timing() });
        deps.logger.info('request', {
          requestId,
          client: deps.edge.clientAddress(req),
          operation,
          principal: principal?.apiKeyId,
          status: err.status,
          error: err.type,
          ms: elapsed(started),
        });
      } finally {
        deps.metrics.requestFinished(opLabel, outcome, (performance.now() - started) / 1000);
      }
    };
    void run();
  };
}

/** What a failed body read is answered with. */
function bodyError(err: unknown): KmsError {
  if (isKmsError(err)) return err;
  return (err as { type?: string }).type === 'entity.too.large'
    ? new KmsError('RequestEntityTooLargeException', `The request body exceeds the ${MAX_BODY_BYTES}-byte limit.`)
    : new KmsError('SerializationException', 'The request body could not be read.');
}

/**
 * The whole body, at most `limit` bytes (a larger declared length is refused before anything is
 * read). Bodies are read as sent: no AWS client compresses KMS requests, so a Content-Encoding is
 * refused rather than inflated.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const tooLarge = Object.assign(new Error('request entity too large'), { type: 'entity.too.large' });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(new KmsError('SerializationException', `Content-Encoding ${encoding} is not supported: send the body uncompressed.`));
  }
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: unknown, body?: Uint8Array) => {
      if (done) return;
      done = true;
      if (err === undefined) ok(body!);
      else fail(err);
    };
    // What is left of a refused body is read and dropped by Node once the answer is sent.
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) finish(tooLarge);
      else chunks.push(chunk);
    });
    req.once('end', () => finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', (e) => finish(e));
    req.once('close', () => {
      if (!req.complete) finish(new Error('the client closed the connection mid-body'));
    });
  });
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** Lets operators (and `npm run bench`) split a request's time between kmsgate and the device. */
function serverTiming(started: number, backendMs: number): string {
  return `total;dur=${elapsed(started)}, backend;dur=${Math.round(backendMs * 1000) / 1000}`;
}

/** Anything that is not a KmsError is a bug or a fault: the client gets a generic 500, the log gets the detail. */
function toKmsError(thrown: unknown, logger: Logger, requestId: string): KmsError {
  const e = storeFault(thrown) ?? thrown;
  if (isKmsError(e)) {
    if (e.status >= 500) logger.error('backend fault', { requestId, error: e.type, detail: e.message, cause: String(e.cause ?? '') });
    return e;
  }
  logger.error('internal error', { requestId, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  return new KmsError('KMSInternalException', 'An internal error occurred. The request id is ' + requestId + '.');
}
