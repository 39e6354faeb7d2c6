import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { checkPolicy, checkPolicyName } from './key-policy';
import { KEY_ID, POLICY, POLICY_NAME } from './shapes';

/**
 * Stores the policy byte for byte. kmsgate does not evaluate key policies (access is decided by
 * API-key roles), so BypassPolicyLockoutSafetyCheck has nothing to bypass and is ignored.
 */
export const PutKeyPolicy = defineOperation({
  name: 'PutKeyPolicy',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      PolicyName: POLICY_NAME,
      Policy: { ...POLICY, required: true },
      BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'PutKeyPolicy',
      states: KEY_STATES_FOR.PutKeyPolicy,
      allowAliases: false,
    });
    checkPolicyName(input.PolicyName);
    checkPolicy(input.Policy);
    await ctx.keys.setPolicy(key.keyId, input.Policy);
    return {};
  },
});
