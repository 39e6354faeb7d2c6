import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { DEFAULT_ROTATION_PERIOD_DAYS, rotationRefusal } from '../rotation/rotate';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * Turns on automatic rotation of a symmetric key's material: the first rotation falls
 * RotationPeriodInDays (default 365) days after this call, then one every period. Called again on
 * a key that rotates already, it changes only the period (counted from when rotation was enabled or
 * last happened). The rotation sweep (rotation/rotation-sweeper.ts) does the rotating.
 */
export const EnableKeyRotation = defineOperation({
  name: 'EnableKeyRotation',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID, RotationPeriodInDays: { type: 'integer', min: 90, max: 2560 } } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, { operation: 'EnableKeyRotation', states: KEY_STATES_FOR.EnableKeyRotation, allowAliases: false });
    const refusal = rotationRefusal(key, ctx.arn);
    if (refusal) throw refusal;
    await ctx.rotations.enable(key.keyId, input.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS, ctx.now());
    return {};
  },
});
