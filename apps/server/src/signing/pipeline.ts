/**
 * The signing pipeline: one Sign request, top to bottom. Each step's rules live where they are
 * tested on their own (core, @kmsgate/policy, ./gates.ts, ./aws-checks.ts); this file is the order
 * (docs/policy.md "Evaluation order") and the audit rules (docs/audit.md "Failure semantics"):
 *
 *   1. input          AWS's shape for SignRequest
 *   2. resolve        KeyId (key id, key ARN, alias name or alias ARN) → key
 *   3. kill switch    global, then the key's
 *      and scope      may this API key use this key?
 *   4. AWS checks     state Enabled, usage SIGN_VERIFY, algorithm for the key spec, message type
 *                     and length, what the backend supports
 *   5. decode and     for a key with a policy: the message decoded as what the policy's chain says,
 *      policy         allowlists, per-transaction caps, time windows. DryRun ends here.
 *   6. replay         an identical request inside the window gets the stored signature
 *   7. device         rate limits and rolling caps reserve; the device signs; a failed call releases
 *   8. audit          the accept (or replay) record is written, in a group commit with the records
 *                     of other Signs that arrive together; only then the signature is returned
 *
 * Every outcome is written here, once: the accept or replay record that releases the signature,
 * or one `deny` record for a refusal at any step (the gate and its reason code for the gates'
 * refusals, gate 'backend' for a failed device call, the error __type for AWS-level refusals).
 * If a record cannot be written the client gets KMSInternalException and no signature.
 */
import { KmsError, parseInput } from '@kmsgate/core';
import { isPolicyDenial, type PolicyDenial, type ResolvedPolicy } from '@kmsgate/policy';
import type { Announcement, AuditDecision, AuditGate, AuditInput } from '@kmsgate/store';
import { errorType, recordDenial, writeGrouped } from '../audit-records';
import type { RequestContext } from '../request-context';
import { GRANT_TOKENS, KEY_ID, MESSAGE, MESSAGE_TYPE, SIGNING_ALGORITHM } from '../operations/shapes';
import { checkSigning, dryRunRefusal } from './aws-checks';
import { gated, refusalError, resolveCallerKey, type SigningGates } from './gates';

/** SignRequest, with the limits of the AWS KMS API model. */
export const SIGN_REQUEST = {
  type: 'structure',
  members: {
    KeyId: KEY_ID,
    Message: MESSAGE,
    MessageType: MESSAGE_TYPE,
    GrantTokens: GRANT_TOKENS,
    SigningAlgorithm: SIGNING_ALGORITHM,
    DryRun: { type: 'boolean' },
  },
} as const;

export interface SignResponse {
  KeyId: string;
  Signature: Uint8Array;
  SigningAlgorithm: string;
}

/** A signature, and the audit record that released it. */
export interface SignOutcome {
  response: SignResponse;
  decision: Extract<AuditDecision, 'accept' | 'replay'>;
}

export class SigningPipeline {
  constructor(readonly gates: SigningGates) {}

  async sign(ctx: RequestContext, json: unknown): Promise<SignOutcome> {
    const audit = new SignAudit(ctx, keyIdAsWritten(json));
    try {
      // 1. input
      const input = parseInput(SIGN_REQUEST, json);
      // 2-3. resolve, kill switch and scope (AWS's state and usage rules only after the scope check)
      const refuse = audit.refuse;
      const { key, aliases } = await resolveCallerKey(
        ctx,
        this.gates,
        input.KeyId,
        { operation: 'Sign', states: ['Enabled'], usage: 'SIGN_VERIFY' },
        { killSwitch: true, refuse },
      );
      // 4. AWS checks
      const checked = checkSigning(ctx, key, input);
      const keyId = key.keyId;
      const { engine } = this.gates;
      const answer = (signature: Uint8Array): SignResponse => ({ KeyId: checked.arn, Signature: signature, SigningAlgorithm: checked.algorithm });
      const device = (message: Uint8Array, summary: unknown) => async (): Promise<Uint8Array> => {
        try {
          return await ctx.backendCall(checked.backend.sign(key.handle, key.keySpec, checked.algorithm, message, key.publicKey), checked.backend);
        } catch (e) {
          await audit.deny({ gate: 'backend', reason: errorType(e), keyId, summary });
          throw e;
        }
      };

      // 5. decode and policy
      const resolved = await gated(refuse, keyId, () => engine.policyFor({ keyId, aliases }));
      if (resolved === undefined) {
        // No policy: signed exactly as AWS would (audited, no replay cache, no caps).
        if (input.DryRun === true) throw dryRunRefusal();
        const signature = await device(checked.input, undefined)();
        return { response: answer(await audit.release('accept', { keyId, signedDigest: checked.input }, signature)), decision: 'accept' };
      }
      const ev = await gated(refuse, keyId, () =>
        engine.evaluate(resolved, {
          key: { keyId, aliases, keySpec: key.keySpec, publicKey: key.publicKey },
          algorithm: checked.algorithm,
          messageType: input.MessageType === 'DIGEST' ? 'DIGEST' : 'RAW',
          message: input.Message,
          apiKeyId: ctx.principal.apiKeyId,
        }),
      );
      if (input.DryRun === true) throw dryRunRefusal();
      const signed = ev.deviceInput ?? checked.input;
      const summary = auditSummary(resolved, ev.summary);
      // 6-8. replay, device, audit
      return await engine
        .signOnce<SignOutcome>(ev, ctx.requestId, {
          replayed: async (signature) => {
            const response = answer(await audit.release('replay', { gate: 'replay', keyId, summary, signedDigest: signed }, signature));
            ctx.metrics.replayHit();
            return { response, decision: 'replay' };
          },
          device: device(signed, summary),
          publicKey: key.publicKey,
          signed: async (signature) => ({
            response: answer(await audit.release('accept', { keyId, summary, signedDigest: signed }, signature)),
            decision: 'accept',
          }),
        })
        .catch(async (e: unknown) => {
          // Rate limits and rolling caps refuse inside signOnce.
          throw isPolicyDenial(e) ? await refuse(keyId, e) : e;
        });
    } catch (e) {
      await audit.denyUnlessWritten(e);
      throw e;
    } finally {
      audit.settle();
    }
  }
}

/** What the audit record keeps of a policy decision: which policy applied and what the decoder saw. */
function auditSummary(resolved: ResolvedPolicy, decoded: unknown): unknown {
  return { policy: { selector: resolved.selector, source: resolved.source, chain: resolved.policy.chain }, ...(decoded !== undefined ? { decoded } : {}) };
}

/** The KeyId as the client wrote it, for the record of a Sign refused before (or while) it was resolved. */
function keyIdAsWritten(json: unknown): string | undefined {
  const raw = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).KeyId : undefined;
  return typeof raw === 'string' && raw !== '' ? raw.slice(0, 2048) : undefined;
}

/** The audit trail of one Sign: exactly one record, whatever happens. */
class SignAudit {
  #written = false;
  /** Lets the group commit wait for this Sign's record while it is at the device (AuditLog.expectGrouped). */
  readonly #announced: Announcement;

  constructor(
    private readonly ctx: RequestContext,
    private readonly keyIdAsWritten: string | undefined,
  ) {
    this.#announced = ctx.audit.expectGrouped();
  }

  /** No grouped record will come (any more): the group commit need not wait for one. */
  settle(): void {
    this.#announced.settle();
  }

  /**
   * Writes the record that releases `value` (the signature), and returns it only once written
   * (in a group commit with the records of other requests that arrive together).
   */
  async release<T>(decision: 'accept' | 'replay', r: Pick<AuditInput, 'gate' | 'keyId' | 'summary' | 'signedDigest'>, value: T): Promise<T> {
    this.#written = true;
    await writeGrouped(
      this.ctx.audit,
      { ...r, decision, requestId: this.ctx.requestId, operation: this.ctx.operation, apiKeyId: this.ctx.principal.apiKeyId },
      this.#announced,
    );
    return value;
  }

  /** A refusal whose gate and reason are known where it happens (the device step). */
  async deny(d: { gate?: AuditGate; reason: string; keyId?: string; summary?: unknown }): Promise<void> {
    this.#written = true;
    await recordDenial(
      this.ctx.audit,
      this.ctx.metrics,
      { ...d, requestId: this.ctx.requestId, operation: this.ctx.operation, apiKeyId: this.ctx.principal.apiKeyId },
      this.#announced,
    );
  }

  /** A gate's refusal: its gate, reason code and what the decoder saw; returns the AWS error to throw. */
  readonly refuse = async (keyId: string, d: PolicyDenial): Promise<KmsError> => {
    await this.deny({ gate: d.gate, reason: d.code, keyId, ...(d.summary !== undefined ? { summary: d.summary } : {}) });
    return refusalError(d);
  };

  /** Any other refusal (bad input, an unknown or disabled key, DryRun): its error __type is the reason. */
  async denyUnlessWritten(e: unknown): Promise<void> {
    if (this.#written) return;
    await this.deny({ reason: errorType(e), ...(this.keyIdAsWritten !== undefined ? { keyId: this.keyIdAsWritten } : {}) });
  }
}
