import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { rotationRefusal } from '../rotation/rotate';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/** Turns off automatic rotation; the current key material stays current, and RotateKeyOnDemand still works. */
export const DisableKeyRotation = defineOperation({
  name: 'DisableKeyRotation',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, { operation: 'DisableKeyRotation', states: KEY_STATES_FOR.DisableKeyRotation, allowAliases: false });
    const refusal = rotationRefusal(key, ctx.arn);
    if (refusal) throw refusal;
    await ctx.rotations.disable(key.keyId);
    return {};
  },
});
