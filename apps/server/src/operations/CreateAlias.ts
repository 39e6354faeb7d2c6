import { KEY_STATES_FOR, KmsError, aliasArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { ALIAS_NAME, MAX_ALIASES_PER_KEY, aliasLimitError, checkNewAliasName } from './alias-name';
import { KEY_ID } from './shapes';

export const CreateAlias = defineOperation({
  name: 'CreateAlias',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.TargetKeyId,
  input: { type: 'structure', members: { AliasName: ALIAS_NAME, TargetKeyId: KEY_ID } },
  async handler(input, ctx) {
    checkNewAliasName(input.AliasName);
    const key = resolveKey(ctx.keys, ctx.arn, input.TargetKeyId, {
      operation: 'CreateAlias',
      states: KEY_STATES_FOR.CreateAlias,
      allowAliases: false,
    });
    const result = await ctx.keys.insertAlias(input.AliasName, key.keyId, ctx.now(), MAX_ALIASES_PER_KEY);
    if (!result.ok) {
      if (result.reason === 'limit') throw aliasLimitError(result.count);
      throw new KmsError('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.arn, input.AliasName)} already exists`);
    }
    return {};
  },
});
