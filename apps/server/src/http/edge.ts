/**
 * The transport edge, in front of the Express app: what every request passes before any routing,
 * body reading or durable write. In order:
 *
 * 1. the per-source rate limit (a source over it gets ThrottlingException and nothing else), the
 *    source being the client address (client-address.ts: the peer, or what a trusted proxy reports);
 * 2. the small concurrency budget of the open device endpoints (GET /attestation,
 *    GET /RollbackCounter), so anonymous callers can never hold more than a few device slots;
 * 3. for requests that need a credential (every POST, everything under /admin/), the checks that
 *    need no body: an x-api-key is looked up, a SigV4 Authorization header is parsed and its access
 *    key looked up. A request that fails them is answered without its body ever being read (a
 *    large one is cut off with the connection). Before that, the store's views are refreshed once
 *    for the request and the request runs with them (GatewayStore.refreshFor): what another process
 *    or gateway wrote before the request arrived applies to it, and a view confirmed current at
 *    the refresh serves the request to its end. A store that cannot be read (the refresh fails, or
 *    a view the refresh did not confirm is stale) answers DependencyTimeoutException when it was not reached in time,
 *    else KMSInternalException, and the request goes no further; any other error (of the precheck
 *    or the app) is thrown as it would be without the refresh, never taken for a store fault.
 *
 * Every refusal here is counted in metrics and audited in aggregate (auth/refusals.ts), never with
 * a durable write per request.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { KMS_ERRORS, KmsError, isKmsError } from '@kmsgate/core';
import type { ApiKeyRepository, AuditLog, GatewayStore, Principal } from '@kmsgate/store';
import { recordDenial } from '../audit-records';
import { precheckCredentials } from '../auth/authenticate';
import type { AuthRefusals } from '../auth/refusals';
import type { Metrics } from '../metrics';
import { findOperation } from '../operations';
import { storeFault } from '../store-fault';
import type { Logger } from '../log';
import { AWS_JSON, sendError } from './aws-json';
import type { ClientAddress } from './client-address';
import { throttled, type ConcurrencyBudget, type RateLimiter } from './limits';

export interface EdgeDeps {
  apiKeys: ApiKeyRepository;
  store: Pick<GatewayStore, 'refreshFor'>;
  logger: Logger;
  refusals: AuthRefusals;
  clientAddress: ClientAddress;
  perSource: RateLimiter;
  openEndpoints: ConcurrencyBudget;
  metrics: Metrics;
  now: () => Date;
}

/** GET endpoints that need no credential but reach a device. */
const OPEN_DEVICE_PATHS: ReadonlySet<string> = new Set(['/attestation', '/RollbackCounter']);
const TARGET_PREFIX = 'TrentService.';

export function edge(deps: EdgeDeps, app: RequestListener): RequestListener {
  return (req, res) => {
    const source = deps.clientAddress(req);
    const path = pathOf(req.url);
    if (!deps.perSource.take(source)) {
      deps.metrics.throttled('source');
      refuse(deps, req, res, source, path, throttled());
      return;
    }
    if (req.method === 'GET' && OPEN_DEVICE_PATHS.has(path)) {
      const release = deps.openEndpoints.acquire();
      if (release === undefined) {
        deps.metrics.throttled('open_endpoints');
        refuse(deps, req, res, source, path, throttled());
        return;
      }
      res.once('close', release);
    } else if (req.method === 'POST' || path === '/admin' || path.startsWith('/admin/')) {
      // The request runs with the views this refresh confirmed, however long it takes: a shared
      // store's view is not refused as stale in the middle of a request admitted as current.
      deps.store
        .refreshFor(() => {
          try {
            admit(deps, req, res, source, path, app);
          } catch (e) {
            // A throw of the precheck or the app (a bug) is not a store fault: out of the promise it
            // is the process's uncaught exception, as a listener's synchronous throw is.
            process.nextTick(() => {
              throw e;
            });
          }
        })
        .catch((e: unknown) => storeUnreadable(deps, res, e));
      return;
    }
    app(req, res);
  };
}

/** The credential precheck, then the app; a refusal of the precheck is answered here. */
function admit(deps: EdgeDeps, req: IncomingMessage, res: ServerResponse, source: string, path: string, app: RequestListener): void {
  try {
    precheckCredentials({ path: req.url ?? '/', headers: req.headersDistinct }, deps.apiKeys, deps.now());
  } catch (e) {
    if (isKmsError(e)) {
      refuse(deps, req, res, source, path, e);
      return;
    }
    // A view the refresh did not confirm for this request (one whose own load failed, or a store
    // that carries no confirmation) may be refused as stale at the lookup: that is the store not
    // answering in time, not a bug.
    if (storeFault(e) === undefined) throw e;
    storeUnreadable(deps, res, e);
    return;
  }
  app(req, res);
}

/**
 * The store could not be read for the request: a shared store not reached in time answers
 * DependencyTimeoutException (503, retried by every AWS SDK), anything else KMSInternalException.
 * The details (which database, why) go to the log only; the unread body goes with the connection.
 */
function storeUnreadable(deps: EdgeDeps, res: ServerResponse, e: unknown): void {
  const requestId = randomUUID();
  deps.logger.error('request refused: the store could not be read', { requestId, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  sendError(res, requestId, storeFault(e) ?? new KmsError('KMSInternalException', `An internal error occurred. The request id is ${requestId}.`), {
    headers: { Connection: 'close' },
  });
}

/**
 * A refused request's body is never read by kmsgate. Up to this size (declared by Content-Length)
 * Node reads and drops it after the answer and the connection stays open, which costs less than a
 * new connection for the next request; a larger body, or one of unknown length, goes with the
 * connection.
 */
const KEEP_ALIVE_BODY_BYTES = 16 * 1024;

/** An AWS-shaped refusal written before the body is read. */
function refuse(deps: EdgeDeps, req: IncomingMessage, res: ServerResponse, source: string, path: string, err: KmsError): void {
  const operation = operationLabel(req, path);
  deps.refusals.record({ source, operation, reason: err.type });
  deps.metrics.edgeRefused(operation, err.type);
  const body = JSON.stringify({ __type: err.type, message: err.message });
  const declared = req.headers['content-length'];
  const small = req.headers['transfer-encoding'] === undefined && (declared === undefined || Number(declared) <= KEEP_ALIVE_BODY_BYTES);
  res.writeHead(KMS_ERRORS[err.type].status, {
    // The open GET routes answer application/json, which a browser shows instead of downloading.
    'Content-Type': req.method === 'GET' && OPEN_DEVICE_PATHS.has(path) ? 'application/json; charset=utf-8' : AWS_JSON,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': randomUUID(),
    'X-Amzn-ErrorType': err.type,
    ...(small ? {} : { Connection: 'close' }),
  });
  res.end(body);
}

/** The metrics and audit label of a request: a known operation's name, `admin`, an open path's name, or `unknown`. */
function operationLabel(req: IncomingMessage, path: string): string {
  if (path === '/admin' || path.startsWith('/admin/')) return 'admin';
  if (req.method === 'GET' && OPEN_DEVICE_PATHS.has(path)) return path.slice(1);
  const target = req.headers['x-amz-target'];
  const name = path === '/' ? (typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '') : path.slice(1);
  return findOperation(name)?.name ?? 'unknown';
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** What the app needs of the edge: the per-API-key limit and where unauthenticated refusals are counted. */
export interface EdgeLimits {
  perApiKey: RateLimiter;
  /** Who a request comes from (the peer, or what a trusted proxy reports): what refusals and the access log name. */
  clientAddress: ClientAddress;
  refusals: AuthRefusals;
  metrics: Metrics;
}

/** Charges one request to an authenticated API key; throws ThrottlingException when it has no token left. */
export function chargeApiKey(limits: EdgeLimits, principal: Principal): void {
  if (limits.perApiKey.take(principal.apiKeyId)) return;
  limits.metrics.throttled('api_key');
  throw throttled();
}

/**
 * Audits a refusal of the auth gate: one record per request when the caller is known and was not
 * throttled (attributable, and bounded by its rate limit), in aggregate otherwise.
 */
export async function recordAuthRefusal(
  limits: EdgeLimits,
  audit: AuditLog,
  metrics: Metrics,
  req: IncomingMessage,
  d: { requestId: string; operation: string; reason: string; principal: Principal | undefined },
): Promise<void> {
  if (d.principal !== undefined && d.reason !== 'ThrottlingException') {
    await recordDenial(audit, metrics, { requestId: d.requestId, operation: d.operation, gate: 'auth', reason: d.reason, apiKeyId: d.principal.apiKeyId });
    return;
  }
  limits.refusals.record({
    source: limits.clientAddress(req),
    operation: d.operation,
    reason: d.reason,
    ...(d.principal !== undefined ? { apiKeyId: d.principal.apiKeyId } : {}),
  });
}
