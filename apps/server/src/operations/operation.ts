import type { ArnContext, Infer, KeyBackend, KeyRecord, StructureShape } from '@kmsgate/core';
import type { KeyStore, Principal } from '@kmsgate/store';

/** Everything an operation handler may touch; nothing HTTP-specific. */
export interface OperationContext {
  keys: KeyStore;
  backends: BackendRegistry;
  arn: ArnContext;
  principal: Principal;
  requestId: string;
  now(): Date;
  /** Awaits a backend call and adds its duration to the request's Server-Timing `backend` entry. */
  backendCall<T>(call: Promise<T>): Promise<T>;
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
