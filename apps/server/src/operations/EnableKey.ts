import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/** Enabled → Enabled, Disabled → Enabled; pending deletion is KMSInvalidStateException. */
export const EnableKey = defineOperation({
  name: 'EnableKey',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'EnableKey',
      states: KEY_STATES_FOR.EnableKey,
      allowAliases: false,
    });
    await ctx.keys.setKeyState(key.keyId, 'Enabled');
    return {};
  },
});
