import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID, TAG_KEY } from './shapes';

/** Removes tags by key; tag keys the key does not have are ignored, as on AWS. */
export const UntagResource = defineOperation({
  name: 'UntagResource',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: {
    type: 'structure',
    members: { KeyId: KEY_ID, TagKeys: { type: 'list', required: true, member: { ...TAG_KEY, required: false } } },
  },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'UntagResource',
      states: KEY_STATES_FOR.UntagResource,
      allowAliases: false,
    });
    await ctx.keys.untagKey(key.keyId, input.TagKeys);
    return {};
  },
});
