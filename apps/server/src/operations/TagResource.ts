import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID, TAG_LIST } from './shapes';
import { MAX_TAGS_PER_KEY, checkTags, tooManyTags } from './tags';

/** Adds tags and overwrites the values of existing tag keys (AWS-recorded behaviour). */
export const TagResource = defineOperation({
  name: 'TagResource',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID, Tags: { ...TAG_LIST, required: true } } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'TagResource',
      states: KEY_STATES_FOR.TagResource,
      allowAliases: false,
    });
    checkTags(input.Tags);
    if (!(await ctx.keys.tagKey(key.keyId, input.Tags, MAX_TAGS_PER_KEY))) throw tooManyTags();
    return {};
  },
});
