import { KmsError, aliasArn } from '@kmsgate/core';
import { defineOperation } from './operation';
import { ALIAS_NAME, checkAliasPrefix } from './alias-name';

export const DeleteAlias = defineOperation({
  name: 'DeleteAlias',
  access: 'admin',
  audit: 'admin',
  auditKey: () => undefined,
  input: { type: 'structure', members: { AliasName: ALIAS_NAME } },
  async handler(input, ctx) {
    checkAliasPrefix(input.AliasName);
    if (!(await ctx.keys.deleteAlias(input.AliasName))) throw new KmsError('NotFoundException', `Alias ${aliasArn(ctx.arn, input.AliasName)} is not found.`);
    return {};
  },
});
