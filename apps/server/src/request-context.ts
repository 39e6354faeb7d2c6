import type { ArnContext } from '@kmsgate/core';
import type { AuditLog, ImportTokenRepository, KeyRotationRepository, KeyRepository, Principal } from '@kmsgate/store';
import type { BackendRegistry } from './backends';
import type { Metrics } from './metrics';

/** One authenticated request, as everything behind the HTTP layer sees it: nothing HTTP-specific. */
export interface RequestContext {
  keys: KeyRepository;
  /** GetParametersForImport's tokens, for ImportKeyMaterial. */
  importTokens: ImportTokenRepository;
  /** Symmetric keys' rotated key materials and rotation schedules. */
  rotations: KeyRotationRepository;
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
   * Pass the backend so the metric names it ("unknown" otherwise).
   */
  backendCall<T>(call: Promise<T>, backend?: { readonly id: string }): Promise<T>;
  /** The hash-chained audit log; written through ./audit-records.ts. */
  audit: AuditLog;
  metrics: Metrics;
}
