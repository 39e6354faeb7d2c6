import type { ArnContext, Infer, KeyBackend, KeyRecord, StructureShape } from '@kmsgate/core';
import type { AuditLog, KeyStore, Principal } from '@kmsgate/store';
import type { Metrics } from '../metrics';
import type { SigningGates } from '../signing-gates';

/** Everything an operation handler may touch; nothing HTTP-specific. */
export interface OperationContext {
  keys: KeyStore;
  backends: BackendRegistry;
  arn: ArnContext;
  principal: Principal;
  requestId: string;
  /** The operation this request runs, by its X-Amz-Target name ('Sign'). */
  operation: string;
  now(): Date;
  /**
   * Awaits a backend call, adds its duration to the request's Server-Timing `backend` entry and to
   * kmsgate_backend_call_duration_seconds{backend,operation} (operation = this request's).
   * Pass the backend so the metric names it ("unknown" otherwise). A call that throws marks the
   * request as failed at the backend (audited with gate 'backend').
   */
  backendCall<T>(call: Promise<T>, backend?: { readonly id: string }): Promise<T>;
  /** The hash-chained audit log. For Sign, write through ../audited.ts, which enforces the rules. */
  audit: AuditLog;
  metrics: Metrics;
  /** Kill switches, API-key scopes and the policy engine (../signing-gates.ts, docs/policy.md). */
  gates: SigningGates;
}

export interface BackendRegistry {
  readonly defaultBackend: KeyBackend;
  all(): readonly KeyBackend[];
  find(id: string): KeyBackend | undefined;
  /** The backend that holds a key; KeyUnavailableException when it is not configured any more. */
  forKey(key: KeyRecord): KeyBackend;
}

export interface Operation<S extends StructureShape = StructureShape> {
  name: string;
  input: S;
  handler(input: Infer<S>, ctx: OperationContext): Promise<object> | object;
}

/** Keeps the input type tied to the declared shape. */
export function defineOperation<S extends StructureShape>(op: Operation<S>): Operation<S> {
  return op;
}
