import { parseInput, type Infer, type StructureShape } from '@kmsgate/core';
import type { AuditDecision } from '@kmsgate/store';
import { writeRecord } from '../audit-records';
import type { Access } from '../auth/authenticate';
import type { RequestContext } from '../request-context';
import type { SigningPipeline } from '../signing/pipeline';

/** Everything an operation handler may touch; nothing HTTP-specific. */
export interface OperationContext extends RequestContext {
  /** Kill switches, API-key scopes, the policy engine and Sign itself (../signing/, docs/policy.md). */
  signing: SigningPipeline;
}

/**
 * What the audit log keeps of an operation's requests, besides the auth gate's refusals
 * (docs/audit.md): 'none' (reads), 'admin' (each success, decision admin, naming the key it
 * touched), 'signing' (every outcome, written by the signing pipeline).
 */
export type AuditClass = 'none' | 'admin' | 'signing';

export interface OperationResult {
  response: object;
  /** The audit record the response was released with, if the operation writes one. */
  decision?: AuditDecision;
}

/** One TrentService operation, as the HTTP layer dispatches it. */
export interface Operation {
  name: string;
  input: StructureShape;
  /** Who may call it. Deny by default: only what says 'signer' is open to signer keys. */
  access: Access;
  audit: AuditClass;
  /** Parses the JSON body against `input`, runs the operation and writes what its audit class asks for. */
  run(json: unknown, ctx: OperationContext): Promise<OperationResult>;
}

type Handler<S extends StructureShape> = (input: Infer<S>, ctx: OperationContext) => Promise<object> | object;

interface HandlerDefinition<S extends StructureShape> {
  name: string;
  input: S;
  access: Access;
  handler: Handler<S>;
}

/** A read: nothing is written to the audit log for its success. */
interface ReadDefinition<S extends StructureShape> extends HandlerDefinition<S> {
  audit: 'none';
}

/** A state change: each success is written with decision 'admin', the request body as its summary. */
interface AdminDefinition<S extends StructureShape> extends HandlerDefinition<S> {
  audit: 'admin';
  /** The key the change touched, as the record names it (none for a change that names no key). */
  auditKey(input: Infer<S>, response: object): string | undefined;
}

/**
 * Keeps the handler's input type tied to the declared shape. If the admin record of a change that
 * has been made cannot be written, the client gets KMSInternalException although the change was
 * made (docs/audit.md, "Failure semantics").
 */
export function defineOperation<S extends StructureShape>(def: ReadDefinition<S> | AdminDefinition<S>): Operation {
  return {
    name: def.name,
    input: def.input,
    access: def.access,
    audit: def.audit,
    async run(json, ctx) {
      const input = parseInput(def.input, json);
      const response = await def.handler(input, ctx);
      if (def.audit === 'none') return { response };
      const keyId = def.auditKey(input, response);
      writeRecord(ctx.audit, {
        requestId: ctx.requestId, apiKeyId: ctx.principal.apiKeyId, operation: ctx.operation, decision: 'admin',
        ...(keyId !== undefined && keyId !== '' ? { keyId } : {}), summary: json,
      });
      return { response, decision: 'admin' };
    },
  };
}
