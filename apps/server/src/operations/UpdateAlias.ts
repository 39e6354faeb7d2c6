import { ALL_KEY_STATES, KEY_STATES_FOR, KmsError, aliasArn, resolveKey, type KeyRecord } from '@kmsgate/core';
import { defineOperation } from './operation';
import { ALIAS_NAME, MAX_ALIASES_PER_KEY, aliasLimitError, checkNewAliasName } from './alias-name';
import { KEY_ID } from './shapes';

/** AWS's three key types for UpdateAlias: "both symmetric or both asymmetric or both HMAC". */
function keyType(key: KeyRecord): 'symmetric' | 'asymmetric' | 'HMAC' {
  const spec: string = key.keySpec;
  return spec === 'SYMMETRIC_DEFAULT' ? 'symmetric' : spec.startsWith('HMAC_') ? 'HMAC' : 'asymmetric';
}

/**
 * Points an existing alias at another key. AWS requires the new key to be of the same type and
 * key usage as the current one (API reference, UpdateAlias): an alias of a symmetric key stays on
 * symmetric keys, one of a signing key on signing keys.
 */
export const UpdateAlias = defineOperation({
  name: 'UpdateAlias',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.TargetKeyId,
  input: { type: 'structure', members: { AliasName: ALIAS_NAME, TargetKeyId: KEY_ID } },
  async handler(input, ctx) {
    checkNewAliasName(input.AliasName);
    const arn = aliasArn(ctx.arn, input.AliasName);
    const currentId = ctx.keys.getAliasTarget(input.AliasName);
    if (currentId === undefined) throw new KmsError('NotFoundException', `Alias ${arn} is not found.`);
    const current = resolveKey(ctx.keys, ctx.arn, currentId, { operation: 'UpdateAlias', states: ALL_KEY_STATES });
    const target = resolveKey(ctx.keys, ctx.arn, input.TargetKeyId, {
      operation: 'UpdateAlias',
      states: KEY_STATES_FOR.UpdateAlias,
      allowAliases: false,
    });
    // local-kms's wording (update_alias.go) for the usage rule; kmsgate's own for the type rule.
    if (current.keyUsage !== target.keyUsage)
      throw new KmsError(
        'ValidationException',
        `Alias ${input.AliasName} cannot be changed from a CMK with key usage ${current.keyUsage} ` +
          `to a CMK with key usage ${target.keyUsage}. The key usage of the current CMK and the new CMK must be the same.`,
      );
    if (keyType(current) !== keyType(target))
      throw new KmsError(
        'ValidationException',
        `Alias ${input.AliasName} cannot be changed from a ${keyType(current)} KMS key ` +
          `to a ${keyType(target)} KMS key. The current and the new KMS key must be of the same type.`,
      );
    const result = await ctx.keys.updateAlias(input.AliasName, target.keyId, ctx.now(), MAX_ALIASES_PER_KEY);
    if (!result.ok) {
      if (result.reason === 'limit') throw aliasLimitError(result.count);
      throw new KmsError('NotFoundException', `Alias ${arn} is not found.`);
    }
    return {};
  },
});
