import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { DEFAULT_POLICY_NAME, checkPolicyName, defaultKeyPolicy } from './key-policy';
import { KEY_ID, POLICY_NAME } from './shapes';

/** Returns the policy exactly as it was stored (CreateKey or PutKeyPolicy), or AWS's default. */
export const GetKeyPolicy = defineOperation({
  name: 'GetKeyPolicy',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID, PolicyName: POLICY_NAME } },
  handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'GetKeyPolicy',
      states: KEY_STATES_FOR.GetKeyPolicy,
      allowAliases: false,
    });
    checkPolicyName(input.PolicyName);
    return { Policy: key.policy ?? defaultKeyPolicy(ctx.arn.accountId), PolicyName: DEFAULT_POLICY_NAME };
  },
});
