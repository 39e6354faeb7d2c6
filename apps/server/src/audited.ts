/**
 * The audit rules of the request path, in one place (docs/audit.md, "Failure semantics"):
 *
 * - A signature leaves the gateway only after its `accept` (or `replay`) record is written. If
 *   the record cannot be written the client gets KMSInternalException and no signature.
 * - Every refusal of a Sign is written as a `deny` record and, when a gate refused it, counted in
 *   kmsgate_denials_total{gate,reason}.
 * - app.ts enforces the first rule for every operation in SIGNING_OPERATIONS: a handler that
 *   returns without having released its result through `signAudited` or `releaseReplay` is
 *   answered with KMSInternalException, and a handler that throws without `auditDenial` gets a
 *   `deny` record written for it (reason = the error __type, gate 'backend' if a backend call
 *   failed).
 *
 * The policy pipeline (decode → policy → replay → backend) calls these from the Sign handler.
 */
import { KmsError, isKmsError } from '@kmsgate/core';
import type { AuditDecision, AuditGate, AuditInput, AuditLog } from '@kmsgate/store';
import { SIGNER_DENIED_OPERATIONS } from './auth/authenticate';
import type { Metrics } from './metrics';
import type { OperationContext } from './operations/operation';

/** Operations whose every outcome is audited, and whose success requires an accept or replay record. */
export const SIGNING_OPERATIONS: ReadonlySet<string> = new Set(['Sign']);

/**
 * Operations that change state; each success is written with decision 'admin' (by app.ts). They
 * are exactly the operations a signer may not call, so the one list in the auth gate serves both.
 */
export const ADMIN_AUDITED_OPERATIONS: ReadonlySet<string> = SIGNER_DENIED_OPERATIONS;

/** What has been written for each request so far (keyed by its context, so nothing outlives the request). */
const written = new WeakMap<OperationContext, AuditDecision>();

/** The decision already recorded for this request, if any. */
export function auditedDecision(ctx: OperationContext): AuditDecision | undefined {
  return written.get(ctx);
}

/** The error a client gets when its request's audit record could not be written. The cause goes to the log only. */
export function auditWriteFailed(cause: unknown): KmsError {
  return new KmsError('KMSInternalException', 'The audit record could not be written, so the request was not completed.', { cause });
}

/** The error __type a thrown value is answered with (anything that is not a KmsError is a KMSInternalException). */
export function errorType(e: unknown): string {
  return isKmsError(e) ? e.type : 'KMSInternalException';
}

export interface DenialRecord {
  requestId: string;
  operation: string;
  apiKeyId?: string;
  keyId?: string;
  /** The gate that refused; none for AWS-level refusals (an unknown key, a disabled key, bad input). */
  gate?: AuditGate;
  /** A stable reason code: the gate's denial code, or the error __type. */
  reason: string;
  summary?: unknown;
}

/**
 * Writes a `deny` record and counts it (when a gate refused). Throws KMSInternalException (cause:
 * the write error) when the record cannot be written. For callers without an operation context
 * (the auth gate in app.ts); handlers use `auditDenial`.
 */
export function recordDenial(audit: AuditLog, metrics: Metrics, d: DenialRecord): void {
  if (d.gate) metrics.denial(d.gate, d.reason);
  append(audit, { ...d, decision: 'deny' });
}

/**
 * For a handler that refuses a request: writes the `deny` record (then throw the refusal). Call it
 * once, with the gate and the gate's reason code; the summary is what the decoder saw.
 */
export function auditDenial(ctx: OperationContext, d: { gate?: AuditGate; reason: string; keyId?: string; summary?: unknown }): void {
  written.set(ctx, 'deny');
  recordDenial(ctx.audit, ctx.metrics, { ...d, requestId: ctx.requestId, operation: ctx.operation, apiKeyId: ctx.principal.apiKeyId });
}

/**
 * The device step of a Sign: calls `sign()` through ctx.backendCall (timed, metered), then writes
 * the `accept` record with `signed` (the exact bytes handed to the device; the record keeps their
 * SHA-256) and only then returns the signature. A backend failure is written as a `deny` with gate
 * 'backend' and rethrown. If a record cannot be written: KMSInternalException, no signature.
 */
export async function signAudited(
  ctx: OperationContext,
  args: { keyId: string; backend: { readonly id: string }; signed: Uint8Array; sign: () => Promise<Uint8Array>; summary?: unknown },
): Promise<Uint8Array> {
  let signature: Uint8Array;
  try {
    signature = await ctx.backendCall(args.sign(), args.backend);
  } catch (e) {
    auditDenial(ctx, { gate: 'backend', reason: errorType(e), keyId: args.keyId, summary: args.summary });
    throw e;
  }
  release(ctx, { decision: 'accept', keyId: args.keyId, summary: args.summary, signedDigest: args.signed });
  return signature;
}

/**
 * A Sign answered from the replay cache: writes the `replay` record, counts the hit, and returns
 * `value` only if the record was written. `signed` is what the device signed originally.
 */
export function releaseReplay<T>(ctx: OperationContext, args: { keyId: string; signed?: Uint8Array; summary?: unknown }, value: T): T {
  release(ctx, { decision: 'replay', gate: 'replay', keyId: args.keyId, summary: args.summary, signedDigest: args.signed });
  ctx.metrics.replayHit();
  return value;
}

function release(ctx: OperationContext, r: Pick<AuditInput, 'decision' | 'gate' | 'keyId' | 'summary' | 'signedDigest'>): void {
  append(ctx.audit, { ...r, requestId: ctx.requestId, operation: ctx.operation, apiKeyId: ctx.principal.apiKeyId });
  written.set(ctx, r.decision);
}

function append(audit: AuditLog, input: AuditInput): void {
  try {
    audit.append(input);
  } catch (e) {
    throw auditWriteFailed(e);
  }
}
