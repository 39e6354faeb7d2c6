import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { DESCRIPTION, KEY_ID } from './shapes';

export const UpdateKeyDescription = defineOperation({
  name: 'UpdateKeyDescription',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID, Description: { ...DESCRIPTION, required: true } } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'UpdateKeyDescription',
      states: KEY_STATES_FOR.UpdateKeyDescription,
      allowAliases: false,
    });
    await ctx.keys.setDescription(key.keyId, input.Description);
    return {};
  },
});
