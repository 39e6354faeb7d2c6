/**
 * The signing gates on the request path (docs/policy.md): kill switch and scope for every key,
 * then, for a key with a policy, decode → policy → replay → backend, each refusal audited with its
 * gate and reason code and answered as an AWS error. The rules themselves live in @kmsgate/policy;
 * this file connects them to the operation context, the audit log and the device.
 */
import { ALL_KEY_STATES, KmsError, resolveKey, type KeyBackend, type KeyRecord, type ResolveOptions, type SupportedSigningAlgorithm } from '@kmsgate/core';
import { DecodeError } from '@kmsgate/chains';
import {
  THROTTLING_REASONS, ethereumSigningDigest, isPolicyDenial, type ApiKeyScope, type PolicyDenial, type PolicyEngine, type ResolvedPolicy,
} from '@kmsgate/policy';
import type { ApiKeyStore, Principal, SqlitePolicyState } from '@kmsgate/store';
import { auditDenial, releaseReplay, signAudited } from './audited';
import type { OperationContext } from './operations/operation';

/** What the handlers need from the gates; built once per gateway. */
export interface SigningGates {
  engine: PolicyEngine;
  state: SqlitePolicyState;
  scopeOf(principal: Principal): ApiKeyScope;
}

export function createSigningGates(engine: PolicyEngine, state: SqlitePolicyState, apiKeys: ApiKeyStore): SigningGates {
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
 * Audits a gate's refusal (decision deny, its gate and reason code, what the decoder saw) and
 * turns it into the AWS error the client gets: ThrottlingException for rate limits (every AWS SDK
 * retries it with backoff), AccessDeniedException for everything else.
 */
export function refuse(ctx: OperationContext, keyId: string | undefined, d: PolicyDenial): KmsError {
  auditDenial(ctx, { gate: d.gate, reason: d.code, ...(keyId !== undefined ? { keyId } : {}), ...(d.summary !== undefined ? { summary: d.summary } : {}) });
  return new KmsError(THROTTLING_REASONS.has(d.code) ? 'ThrottlingException' : 'AccessDeniedException', denialMessage(d));
}

function gated<T>(ctx: OperationContext, keyId: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isPolicyDenial(e)) throw refuse(ctx, keyId, e);
    throw e;
  }
}

export interface CallerKey {
  key: KeyRecord;
  aliases: string[];
}

/**
 * Resolves a KeyId for the caller: the key must exist, then (Sign only) no kill switch may stop
 * it, then it must be in the API key's scope; only then are AWS's key-state and usage rules
 * applied, so a caller learns nothing about the state of a key outside its scope. The second
 * resolution is by key id, so an alias moved in between cannot swap the key after the scope check.
 */
export function resolveCallerKey(ctx: OperationContext, keyIdParam: string, opts: ResolveOptions, signing = false): CallerKey {
  const found = resolveKey(ctx.keys, ctx.arn, keyIdParam, { operation: opts.operation, states: ALL_KEY_STATES, ...(opts.allowAliases !== undefined ? { allowAliases: opts.allowAliases } : {}) });
  const aliases = ctx.keys.listAliases('', found.keyId, 100).aliases.map((a) => a.aliasName);
  gated(ctx, found.keyId, () => {
    if (signing) ctx.gates.engine.checkKillSwitch(found.keyId);
    ctx.gates.engine.checkScope(ctx.gates.scopeOf(ctx.principal), { keyId: found.keyId, aliases });
  });
  return { key: resolveKey(ctx.keys, ctx.arn, found.keyId, opts), aliases };
}

export interface PreparedSign {
  key: KeyRecord;
  aliases: string[];
  backend: KeyBackend;
  algorithm: SupportedSigningAlgorithm;
  messageType: 'RAW' | 'DIGEST';
  message: Uint8Array;
  /** What AWS's rules give the device: the digest (hashed here for RAW ECDSA) or the message (Ed25519). */
  input: Uint8Array;
  dryRun: boolean;
}

/**
 * Steps 3-11 of docs/policy.md and the device call, for a Sign whose key passed the kill switch and
 * scope. A key without a policy is signed exactly as AWS would (audited, no replay cache).
 */
export async function signThroughGates(ctx: OperationContext, p: PreparedSign, dryRun: () => never): Promise<Uint8Array> {
  const { engine } = ctx.gates;
  const keyId = p.key.keyId;
  const resolved = gated(ctx, keyId, () => engine.policyFor({ keyId, aliases: p.aliases }));
  if (resolved === undefined) {
    if (p.dryRun) dryRun();
    return signAudited(ctx, { keyId, backend: p.backend, signed: p.input, sign: () => p.backend.sign(p.key.handle, p.key.keySpec, p.algorithm, p.input) });
  }
  const ev = gated(ctx, keyId, () => engine.evaluate(resolved, {
    key: { keyId, aliases: p.aliases, keySpec: p.key.keySpec, publicKey: p.key.publicKey },
    algorithm: p.algorithm, messageType: p.messageType, message: p.message, apiKeyId: ctx.principal.apiKeyId,
  }));
  if (p.dryRun) dryRun();
  const deviceInput = ev.deviceInput ?? p.input;
  const summary = auditSummary(resolved, ev.summary);
  return engine.serialiseIdentical(ev, async () => {
    const admission = gated(ctx, keyId, () => engine.admit(ev, ctx.requestId));
    if (admission.kind === 'replay') return releaseReplay(ctx, { keyId, signed: deviceInput, summary }, admission.signature);
    const signature = await signAudited(ctx, {
      keyId, backend: p.backend, signed: deviceInput, summary,
      sign: async () => {
        let der: Uint8Array;
        try {
          der = await p.backend.sign(p.key.handle, p.key.keySpec, p.algorithm, deviceInput);
        } catch (e) {
          // The device did not sign: the reservation no longer counts against caps and rate limits.
          engine.release(admission);
          throw e;
        }
        // From here on the device has signed: whatever fails, the reservation stays counted.
        return engine.formatSignature(ev, der, p.key.publicKey);
      },
    });
    engine.complete(ev, admission, signature);
    return signature;
  });
}

/** What the audit record keeps of a policy decision: which policy applied and what the decoder saw. */
function auditSummary(resolved: ResolvedPolicy, decoded: unknown): unknown {
  return { policy: { selector: resolved.selector, source: resolved.source, chain: resolved.policy.chain }, ...(decoded !== undefined ? { decoded } : {}) };
}

/**
 * Verify RAW for a key whose policy says `chain: ethereum` checks the same keccak-256 digest Sign
 * RAW signs for it (docs/policy.md, "Ethereum"); every other key verifies as AWS does. Undefined
 * means "AWS's rule". A RAW message that is neither a transaction nor EIP-712 typed data could not
 * have been signed by such a key: KMSInvalidSignatureException.
 */
export function verifyDigestOverride(ctx: OperationContext, caller: CallerKey, messageType: string, message: Uint8Array): Uint8Array | undefined {
  if (messageType !== 'RAW') return undefined;
  let resolved: ResolvedPolicy | undefined;
  try {
    resolved = ctx.gates.engine.policyFor({ keyId: caller.key.keyId, aliases: caller.aliases });
  } catch (e) {
    if (isPolicyDenial(e)) return undefined;
    throw e;
  }
  if (resolved?.policy.chain !== 'ethereum') return undefined;
  try {
    return ethereumSigningDigest(message);
  } catch (e) {
    if (e instanceof DecodeError) throw new KmsError('KMSInvalidSignatureException', '');
    throw e;
  }
}
