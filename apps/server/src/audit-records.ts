/**
 * Writing audit records from the request path (docs/audit.md, "Failure semantics"). Every write
 * that fails becomes KMSInternalException: the caller must then not hand out what the record was
 * about (a signature, or the answer to a change already made). Who writes what:
 *
 * - the auth gate (app.ts, http/admin-routes.ts): its refusals, `recordDenial` with gate 'auth';
 * - operations of audit class 'admin' (operations/operation.ts): each success, decision 'admin';
 * - the signing pipeline (signing/pipeline.ts): every outcome of a Sign, and the kill-switch and
 *   scope refusals of the other keyed operations.
 */
import { KmsError, isKmsError } from '@kmsgate/core';
import type { Announcement, AuditGate, AuditInput, AuditLog, AuditRecord } from '@kmsgate/store';
import type { Metrics } from './metrics';
import { storeFault } from './store-fault';

/** The error a client gets when its request's audit record could not be written. The cause goes to the log only. */
export function auditWriteFailed(cause: unknown): KmsError {
  return new KmsError('KMSInternalException', 'The audit record could not be written, so the request was not completed.', { cause });
}

/** The error __type a thrown value is answered with (anything that is not a KmsError is a KMSInternalException). */
export function errorType(e: unknown): string {
  return isKmsError(e) ? e.type : (storeFault(e)?.type ?? 'KMSInternalException');
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
 * Writes a `deny` record and counts it (when a gate refused), in the group commit with the records
 * that arrive together, as accepts are: a flood of refused requests then costs one durable write
 * per group, not one per request (on PostgreSQL, one wait for the chain head's row lock each).
 * `announced`, a Sign's own announcement, is settled by it. Resolves once the record is durable;
 * rejects with KMSInternalException when it cannot be written, as every request of its group
 * does: the client then gets that instead of its refusal.
 */
export async function recordDenial(audit: AuditLog, metrics: Metrics, d: DenialRecord, announced?: Announcement): Promise<void> {
  if (d.gate) metrics.denial(d.gate, d.reason);
  await writeGrouped(audit, { ...d, decision: 'deny' }, announced);
}

/**
 * Appends one record in the next group commit (AuditLog.appendGrouped: one durable flush for all
 * records that arrive together); KMSInternalException (cause: the write error) when it cannot be
 * written, for every record of its group.
 */
export async function writeGrouped(audit: AuditLog, input: AuditInput, announced?: Announcement): Promise<AuditRecord> {
  try {
    return await audit.appendGrouped(input, announced);
  } catch (e) {
    throw auditWriteFailed(e);
  }
}

/** Appends one record on its own (admin records); KMSInternalException (cause: the write error) when it cannot be written. */
export async function writeRecord(audit: AuditLog, input: AuditInput): Promise<AuditRecord> {
  try {
    return await audit.append(input);
  } catch (e) {
    throw auditWriteFailed(e);
  }
}
