import { parseInput, type Infer, type StructureShape } from '@kmsgate/core';
import type { AuditDecision } from '@kmsgate/store';
import { errorType, recordDenial, writeGrouped, writeRecord } from '../audit-records';
import type { Access } from '../auth/authenticate';
import type { RequestContext } from '../request-context';
import { refuseFor, type Refuse } from '../signing/gates';
import type { SigningPipeline } from '../signing/pipeline';

/** Everything an operation handler may touch; nothing HTTP-specific. */
export interface OperationContext extends RequestContext {
  /** Kill switches, API-key scopes, the policy engine and Sign itself (../signing/, docs/policy.md). */
  signing: SigningPipeline;
}

/**
 * What the audit log keeps of an operation's requests, besides the auth gate's refusals
 * (docs/audit.md): 'none' (reads), 'admin' (each success, decision admin, naming the key it
 * touched), 'signing' (every outcome, written by the signing pipeline), 'usage' (every outcome of
 * a use of a key other than Sign — Encrypt, Decrypt, …: accept before the answer leaves, or deny).
 */
export type AuditClass = 'none' | 'admin' | 'signing' | 'usage';

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
  /** Request members the summary leaves out (wrapped key material, import tokens): their length is kept. */
  auditOmit?: readonly (keyof Infer<S> & string)[];
}

function omitMembers(json: unknown, names: readonly string[] | undefined): unknown {
  if (!names || typeof json !== 'object' || json === null) return json;
  const out: Record<string, unknown> = { ...(json as Record<string, unknown>) };
  for (const n of names) {
    const v = out[n];
    if (v !== undefined) out[n] = `(omitted: ${typeof v === 'string' ? v.length : 0} characters)`;
  }
  return out;
}

/** What a key-use handler gets: `refuse` audits a gate's refusal as this request's one deny record. */
export interface UsageContext extends OperationContext {
  refuse: Refuse;
  /**
   * Counts one device command made with a key (a YubiHSM 2 WRAP_DATA, UNWRAP_DATA or SIGN_HMAC), for the
   * record's `deviceUses`: what `kmsgate hsm audit` matches the device's own log against.
   */
  deviceUse(keyId: string): void;
}

/** A key-use operation's answer and what its accept record names. */
export interface UsageResult {
  response: object;
  /** The key used (for ReEncrypt, the destination key). */
  keyId: string;
  /** Non-secret facts for the record (the encryption context, a source key); never key material or plaintext. */
  summary?: Record<string, unknown>;
}

/**
 * A use of a key other than Sign: exactly one record per request — accept, written (in a group
 * commit) before the response is released, or deny with the gate's reason or the error __type.
 */
export interface UsageDefinition<S extends StructureShape> {
  name: string;
  input: S;
  access: 'signer';
  audit: 'usage';
  handler: (input: Infer<S>, ctx: UsageContext) => Promise<UsageResult>;
}

/**
 * Keeps the handler's input type tied to the declared shape. If the admin record of a change that
 * has been made cannot be written, the client gets KMSInternalException although the change was
 * made (docs/audit.md, "Failure semantics").
 */
export function defineOperation<S extends StructureShape>(def: ReadDefinition<S> | AdminDefinition<S> | UsageDefinition<S>): Operation {
  if (def.audit === 'usage') return usageOperation(def);
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
      await writeRecord(ctx.audit, {
        requestId: ctx.requestId,
        apiKeyId: ctx.principal.apiKeyId,
        operation: ctx.operation,
        decision: 'admin',
        ...(keyId !== undefined && keyId !== '' ? { keyId } : {}),
        summary: omitMembers(json, def.auditOmit),
      });
      return { response, decision: 'admin' };
    },
  };
}

function usageOperation<S extends StructureShape>(def: UsageDefinition<S>): Operation {
  return {
    name: def.name,
    input: def.input,
    access: def.access,
    audit: def.audit,
    async run(json, ctx) {
      const who = { requestId: ctx.requestId, operation: ctx.operation, apiKeyId: ctx.principal.apiKeyId };
      const uses: Record<string, number> = {};
      const deviceUse = (keyId: string) => {
        uses[keyId] = (uses[keyId] ?? 0) + 1;
      };
      // A refusal after a device call (a ciphertext the device opened but whose context is wrong) names its uses too.
      const used = () => (Object.keys(uses).length > 0 ? { deviceUses: uses } : {});
      let written = false;
      const gateRefusal = refuseFor(ctx);
      const refuse: Refuse = (keyId, d) => {
        written = true;
        return gateRefusal(keyId, d);
      };
      try {
        const result = await def.handler(parseInput(def.input, json), { ...ctx, refuse, deviceUse });
        written = true;
        const summary = { ...(result.summary ?? {}), ...used() };
        await writeGrouped(ctx.audit, { ...who, decision: 'accept', keyId: result.keyId, ...(Object.keys(summary).length > 0 ? { summary } : {}) });
        return { response: result.response, decision: 'accept' };
      } catch (e) {
        if (!written) {
          const keyId = keyIdAsWritten(json);
          const summary = used();
          await recordDenial(ctx.audit, ctx.metrics, {
            ...who,
            reason: errorType(e),
            ...(keyId !== undefined ? { keyId } : {}),
            ...('deviceUses' in summary ? { summary } : {}),
          });
        }
        throw e;
      }
    },
  };
}

/** The key a refused request named, as the client wrote it (KeyId, or ReEncrypt's DestinationKeyId). */
function keyIdAsWritten(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const body = json as Record<string, unknown>;
  const raw = body.KeyId ?? body.DestinationKeyId;
  return typeof raw === 'string' && raw !== '' ? raw.slice(0, 2048) : undefined;
}
