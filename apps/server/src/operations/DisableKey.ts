import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/** Enabled → Disabled, Disabled → Disabled (AWS allows it); pending deletion is KMSInvalidStateException. */
export const DisableKey = defineOperation({
  name: 'DisableKey',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'DisableKey',
      states: KEY_STATES_FOR.DisableKey,
      allowAliases: false,
    });
    await ctx.keys.setKeyState(key.keyId, 'Disabled');
    return {};
  },
});
