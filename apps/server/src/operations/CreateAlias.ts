import { KmsError, aliasArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { ALIAS_NAME, checkNewAliasName } from './alias-name';
import { KEY_ID } from './shapes';

export const CreateAlias = defineOperation({
  name: 'CreateAlias',
  input: { type: 'structure', members: { AliasName: ALIAS_NAME, TargetKeyId: KEY_ID } },
  handler(input, ctx) {
    checkNewAliasName(input.AliasName);
    const key = resolveKey(ctx.keys, ctx.arn, input.TargetKeyId, {
      operation: 'CreateAlias', states: ['Enabled', 'Disabled'], allowAliases: false,
    });
    if (!ctx.keys.insertAlias(input.AliasName, key.keyId, ctx.now()))
      throw new KmsError('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.arn, input.AliasName)} already exists`);
    return {};
  },
});
