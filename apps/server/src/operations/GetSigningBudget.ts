import { ALL_KEY_STATES, keyArn } from '@kmsgate/core';
import { isPolicyDenial, policyToJson, type KillSwitchRecord, type ResolvedPolicy, type SigningHeadroom } from '@kmsgate/policy';
import { resolveCallerKey } from '../signing/gates';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * kmsgate's own operation (not in AWS KMS): what a key may still sign right now, so an agent can
 * plan instead of learning its limits by being denied (docs/policy.md "Asking for the budget").
 * The kill switches, the key's state, the policy in force and, from the signing ledger the Policy
 * gate reserves against, what is left of each rate limit and rolling cap. A read: no device call,
 * nothing reserved, nothing audited but a scope refusal; scoped like GetPublicKey, any key state.
 */
export const GetSigningBudget = defineOperation({
  name: 'GetSigningBudget',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const { key, aliases } = await resolveCallerKey(ctx, ctx.signing.gates, input.KeyId, { operation: 'GetSigningBudget', states: ALL_KEY_STATES });
    const { engine, state } = ctx.signing.gates;
    const switches = state.killSwitchesFor(key.keyId);
    let resolved: ResolvedPolicy | undefined;
    let policyError: { Reason: string; Message: string } | undefined;
    try {
      resolved = engine.policyFor({ keyId: key.keyId, aliases });
      if (resolved) engine.checkKeySpec(resolved.policy, key);
    } catch (e) {
      // A policy that refuses every Sign (ambiguous, invalid, for another key spec): the budget says why instead of failing.
      if (!isPolicyDenial(e)) throw e;
      policyError = { Reason: e.code, Message: e.detail };
    }
    return {
      KeyId: keyArn(ctx.arn, key.keyId),
      KeyState: key.keyState,
      At: seconds(ctx.now().getTime()),
      KillSwitch: { Global: killSwitch(switches.global), Key: killSwitch(switches.key) },
      ...(policyError ? { PolicyError: policyError } : {}),
      ...(resolved ? budget(resolved, await engine.headroom(key.keyId, resolved.policy)) : {}),
    };
  },
});

/** AWS JSON timestamps are epoch seconds. */
function seconds(ms: number): number {
  return ms / 1000;
}

function killSwitch(r: KillSwitchRecord | undefined): object {
  if (r === undefined) return { Engaged: false };
  return { Engaged: true, EngagedAt: seconds(r.engagedAt.getTime()), ...(r.reason !== null ? { Reason: r.reason } : {}) };
}

function budget(resolved: ResolvedPolicy, h: SigningHeadroom): object {
  return {
    Policy: { Selector: resolved.selector, Source: resolved.source, Document: policyToJson(resolved.policy) },
    InsideTimeWindow: h.insideTimeWindow,
    RateLimits: h.rateLimits.map((r) => ({
      Limit: r.limit,
      WindowSeconds: r.windowMs / 1000,
      Max: r.max,
      Used: r.used,
      Remaining: r.remaining,
      ...(r.nextFreeAtMs !== undefined ? { NextFreeAt: seconds(r.nextFreeAtMs) } : {}),
    })),
    // Amounts as decimal strings of base units, as in the policy (a JSON number would lose precision).
    Caps: h.caps.map((c) => ({
      Asset: c.asset,
      ...(c.perTransaction !== undefined ? { PerTransaction: c.perTransaction.toString() } : {}),
      ...(c.rolling24h !== undefined ? { Rolling24h: c.rolling24h.toString() } : {}),
      Used24h: c.used24h.toString(),
      ...(c.remaining24h !== undefined ? { Remaining24h: c.remaining24h.toString() } : {}),
      ...(c.nextFreeAtMs !== undefined ? { NextFreeAt: seconds(c.nextFreeAtMs) } : {}),
    })),
  };
}
