/**
 * The admin API (openapi.yaml, docs/policy.md "Changing policies at runtime"): signing policies
 * set at runtime and the kill switches. A small REST API under /admin/, not TrentService
 * operations: these are kmsgate's own resources, which no AWS SDK or tool will ever send, and a
 * path prefix that is admin-only as a whole. Same credentials as KMS requests (x-api-key or
 * SigV4), admin role only, same AWS-shaped errors. Every change is written to the audit log with decision 'admin'.
 */
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { ALL_KEY_STATES, KmsError, isKmsError, resolveKey, type ArnContext } from '@kmsgate/core';
import {
  GLOBAL_KILL_SWITCH,
  KEY_SELECTOR,
  KEY_SELECTOR_MESSAGE,
  PolicyValidationError,
  describeKillSwitches,
  parseSigningPolicy,
  policyToJson,
  type RuntimePolicyRecord,
} from '@kmsgate/policy';
import type { ApiKeyRepository, AuditLog, KeyRepository, Principal } from '@kmsgate/store';
import { writeRecord } from '../audit-records';
import { authenticate } from '../auth/authenticate';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { SigningGates } from '../signing/gates';
import { storeFault } from '../store-fault';
import { parseJsonBody, sendError } from './aws-json';
import { chargeApiKey, recordAuthRefusal, type EdgeLimits } from './edge';

export interface AdminDeps {
  keys: KeyRepository;
  apiKeys: ApiKeyRepository;
  arn: ArnContext;
  gates: SigningGates;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  maxBodyBytes: number;
  edge: EdgeLimits;
}

const KillSwitchBody = z
  .object({
    engaged: z.boolean(),
    /** Key id, key ARN, alias name or alias ARN; left out: the global switch. */
    key: z.string().min(1).max(2048).optional(),
    reason: z.string().max(1024).optional(),
  })
  .strict();

interface Call {
  req: Request;
  principal: Principal;
  requestId: string;
  body: unknown;
}

export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const parseRaw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  // The body parser calls `next` from the request stream's events, outside the request's
  // asynchronous context: bound, the handler keeps what the edge's refresh confirmed for the
  // request (GatewayStore.refreshFor), as the KMS operations do.
  const raw = (req: Request, res: Response, next: NextFunction) => parseRaw(req, res, AsyncResource.bind(next));
  const { state, engine } = deps.gates;

  const handle = (operation: string, work: (call: Call) => object | Promise<object>) => async (req: Request, res: Response) => {
    const requestId = randomUUID();
    const started = performance.now();
    deps.metrics.requestStarted();
    let outcome = 'ok';
    let principal: Principal | undefined;
    try {
      const bytes = req.body instanceof Uint8Array ? req.body : new Uint8Array(0);
      try {
        principal = await authenticate({ method: req.method, path: req.originalUrl, headers: req.headersDistinct, body: bytes }, deps.apiKeys, deps.now());
        chargeApiKey(deps.edge, principal);
        if (principal.role !== 'admin') {
          throw new KmsError(
            'AccessDeniedException',
            `User: ${principal.label} (api key ${principal.apiKeyId}) is not authorized to perform: kmsgate:${operation} because its role is ${principal.role}`,
          );
        }
      } catch (e) {
        await recordAuthRefusal(deps.edge, deps.audit, deps.metrics, req, {
          requestId,
          operation,
          reason: isKmsError(e) ? e.type : 'KMSInternalException',
          principal,
        });
        throw e;
      }
      const result = await work({ req, principal, requestId, body: bytes.length === 0 ? undefined : parseJsonBody(bytes) });
      res.status(200).set({ 'Cache-Control': 'no-store', 'x-amzn-RequestId': requestId }).json(result);
      deps.logger.info('request', { requestId, client: deps.edge.clientAddress(req), operation, principal: principal.apiKeyId, status: 200, ms: ms(started) });
    } catch (e) {
      const err = isKmsError(e) ? e : internal(e, deps.logger, requestId);
      outcome = err.type;
      sendError(res, requestId, err);
      deps.logger.info('request', {
        requestId,
        client: deps.edge.clientAddress(req),
        operation,
        principal: principal?.apiKeyId,
        status: err.status,
        error: err.type,
        ms: ms(started),
      });
    } finally {
      deps.metrics.requestFinished(`admin:${operation}`, outcome, (performance.now() - started) / 1000);
    }
  };

  /** The admin record of a change that has been made; if it cannot be written the client gets KMSInternalException. */
  const audit = async (call: Call, operation: string, summary: unknown, keyId?: string) => {
    await writeRecord(deps.audit, {
      requestId: call.requestId,
      apiKeyId: call.principal.apiKeyId,
      operation,
      decision: 'admin',
      summary,
      ...(keyId !== undefined ? { keyId } : {}),
    });
  };

  const selectorOf = (req: Request): string => {
    const parts = (req.params as Record<string, string | string[]>).selector;
    const selector = Array.isArray(parts) ? parts.join('/') : String(parts ?? '');
    if (!KEY_SELECTOR.test(selector))
      throw new KmsError('ValidationException', `The policy selector ${JSON.stringify(selector.slice(0, 300))} ${KEY_SELECTOR_MESSAGE}.`);
    return selector;
  };

  /** The key a selector names today (an alias may point elsewhere tomorrow), or null. */
  const appliesTo = (selector: string): string | null => {
    if (!selector.startsWith('alias/')) return deps.keys.getKey(selector) ? selector : null;
    return deps.keys.getAliasTarget(selector) ?? null;
  };

  const view = (selector: string) => {
    const runtime = state.runtimePoliciesFor([selector])[0];
    const config = Object.prototype.hasOwnProperty.call(engine.baseline, selector) ? engine.baseline[selector]! : undefined;
    return {
      selector,
      appliesTo: appliesTo(selector),
      effective: runtime ? 'runtime' : config ? 'config' : null,
      runtime: runtime ? runtimeView(runtime) : null,
      config: config ? policyToJson(config) : null,
    };
  };

  router.get(
    '/admin/policies',
    raw,
    handle('ListSigningPolicies', async () => {
      const selectors = new Set([...Object.keys(engine.baseline), ...(await state.listRuntimePolicies()).map((r) => r.selector)]);
      return { policies: [...selectors].sort().map(view) };
    }),
  );

  router.get(
    '/admin/policies/*selector',
    raw,
    handle('GetSigningPolicy', ({ req }) => {
      const selector = selectorOf(req);
      const v = view(selector);
      if (v.effective === null) throw new KmsError('NotFoundException', `No signing policy for ${selector}.`);
      return v;
    }),
  );

  router.put(
    '/admin/policies/*selector',
    raw,
    handle('PutSigningPolicy', async (call) => {
      const selector = selectorOf(call.req);
      if (call.body === undefined) throw new KmsError('ValidationException', 'The body must be the policy, as a JSON object.');
      let normalised: Record<string, unknown>;
      try {
        normalised = policyToJson(parseSigningPolicy(call.body));
      } catch (e) {
        if (e instanceof PolicyValidationError)
          throw new KmsError('ValidationException', `${e.issues.length} validation error(s) in the policy: ${e.issues.join('; ')}`);
        throw e;
      }
      await state.putRuntimePolicy(selector, JSON.stringify(normalised), call.principal.apiKeyId, deps.now());
      await audit(call, 'PutSigningPolicy', { selector, policy: normalised }, appliesTo(selector) ?? undefined);
      return view(selector);
    }),
  );

  router.delete(
    '/admin/policies/*selector',
    raw,
    handle('DeleteSigningPolicy', async (call) => {
      const selector = selectorOf(call.req);
      if (!(await state.deleteRuntimePolicy(selector))) throw new KmsError('NotFoundException', `No runtime signing policy for ${selector}.`);
      await audit(call, 'DeleteSigningPolicy', { selector }, appliesTo(selector) ?? undefined);
      return view(selector);
    }),
  );

  router.get(
    '/admin/kill-switch',
    raw,
    handle('GetKillSwitch', async () => describeKillSwitches(await state.listKillSwitches())),
  );

  router.put(
    '/admin/kill-switch',
    raw,
    handle('SetKillSwitch', async (call) => {
      const parsed = KillSwitchBody.safeParse(call.body ?? {});
      if (!parsed.success)
        throw new KmsError('ValidationException', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
      const { engaged, key, reason } = parsed.data;
      // A key switch is bound to the key id, not to an alias: moving the alias does not release it.
      const target =
        key === undefined ? GLOBAL_KILL_SWITCH : resolveKey(deps.keys, deps.arn, key, { operation: 'SetKillSwitch', states: ALL_KEY_STATES }).keyId;
      const changed = await state.setKillSwitch(target, engaged, call.principal.apiKeyId, reason ?? null, deps.now());
      if (changed) {
        await audit(
          call,
          'SetKillSwitch',
          { target: target === GLOBAL_KILL_SWITCH ? 'global' : 'key', engaged, ...(reason !== undefined ? { reason } : {}) },
          target === GLOBAL_KILL_SWITCH ? undefined : target,
        );
      }
      return { changed, ...describeKillSwitches(await state.listKillSwitches()) };
    }),
  );

  return router;
}

function runtimeView(r: RuntimePolicyRecord) {
  return { policy: JSON.parse(r.policy) as unknown, updatedAt: r.updatedAt.toISOString(), updatedBy: r.updatedBy };
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function internal(e: unknown, logger: Logger, requestId: string): KmsError {
  const fault = storeFault(e);
  if (fault) {
    logger.error('store fault', { requestId, error: fault.type, detail: String(e) });
    return fault;
  }
  logger.error('internal error', { requestId, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  return new KmsError('KMSInternalException', `An internal error occurred. The request id is ${requestId}.`);
}
