/**
 * The gates every keyed request passes before AWS's own checks (docs/policy.md): the kill
 * switches (Sign only) and the API key's scope. A refusal is audited with its gate and reason code
 * and answered as an AWS error.
 */
import { ALL_KEY_STATES, KmsError, checkKey, resolveKey, type KeyRecord, type ResolveOptions } from '@kmsgate/core';
import { THROTTLING_REASONS, isPolicyDenial, type ApiKeyScope, type PolicyDenial, type PolicyEngine, type PolicyStateStore } from '@kmsgate/policy';
import type { ApiKeyRepository, Principal } from '@kmsgate/store';
import { recordDenial } from '../audit-records';
import type { RequestContext } from '../request-context';

/** Kill switches, API-key scopes and the policy engine; built once per gateway. */
export interface SigningGates {
  engine: PolicyEngine;
  state: PolicyStateStore;
  scopeOf(principal: Principal): ApiKeyScope;
}

export function createSigningGates(engine: PolicyEngine, state: PolicyStateStore, apiKeys: ApiKeyRepository): SigningGates {
  return {
    engine,
    state,
    // A key revoked or removed mid-request has no scope left: it may use no key.
    scopeOf: (principal) => apiKeys.scopeOf(principal.apiKeyId) ?? { restricted: true, selectors: [] },
  };
}

/** The reason code leads the message, in parentheses, so scripts can pick it out (docs/errors.md). */
export function denialMessage(d: Pick<PolicyDenial, 'code' | 'detail'>): string {
  return `Denied by kmsgate (${d.code}): ${d.detail}`;
}

/**
 * The AWS error a gate's refusal is answered with: ThrottlingException for rate limits (every AWS
 * SDK retries it with backoff), AccessDeniedException for everything else.
 */
export function refusalError(d: PolicyDenial): KmsError {
  return new KmsError(THROTTLING_REASONS.has(d.code) ? 'ThrottlingException' : 'AccessDeniedException', denialMessage(d));
}

/** Audits a gate's refusal and resolves with the error to throw (once its record is written; KMSInternalException when it cannot be). */
export type Refuse = (keyId: string, d: PolicyDenial) => Promise<KmsError>;

/** For requests other than Sign: the refusal's deny record (its gate, reason code, what the decoder saw). */
export function refuseFor(ctx: RequestContext): Refuse {
  return async (keyId, d) => {
    await recordDenial(ctx.audit, ctx.metrics, {
      requestId: ctx.requestId,
      operation: ctx.operation,
      apiKeyId: ctx.principal.apiKeyId,
      gate: d.gate,
      reason: d.code,
      keyId,
      ...(d.summary !== undefined ? { summary: d.summary } : {}),
    });
    return refusalError(d);
  };
}

/** Runs one gate; its PolicyDenial is audited and thrown as the AWS error (`refuse`). */
export async function gated<T>(refuse: Refuse, keyId: string, fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (e) {
    if (isPolicyDenial(e)) throw await refuse(keyId, e);
    throw e;
  }
}

export interface CallerKey {
  key: KeyRecord;
  aliases: readonly string[];
}

/**
 * Resolves a KeyId for the caller: the key must exist, then (Sign only) no kill switch may stop
 * it, then it must be in the API key's scope; only then are AWS's key-state and usage rules
 * applied (to the same record, so nothing can swap the key after the scope check), and a caller
 * learns nothing about the state of a key outside its scope.
 */
export async function resolveCallerKey(
  ctx: RequestContext,
  gates: SigningGates,
  keyIdParam: string,
  opts: ResolveOptions,
  { killSwitch = false, refuse = refuseFor(ctx) }: { killSwitch?: boolean; refuse?: Refuse } = {},
): Promise<CallerKey> {
  const found = resolveKey(ctx.keys, ctx.arn, keyIdParam, {
    operation: opts.operation,
    states: ALL_KEY_STATES,
    ...(opts.allowAliases !== undefined ? { allowAliases: opts.allowAliases } : {}),
  });
  const aliases = ctx.keys.aliasNamesOf(found.keyId);
  await gated(refuse, found.keyId, () => {
    if (killSwitch) gates.engine.checkKillSwitch(found.keyId);
    gates.engine.checkScope(gates.scopeOf(ctx.principal), { keyId: found.keyId, aliases });
  });
  return { key: checkKey(found, ctx.arn, opts), aliases };
}
