import { KEY_STATES_FOR, keyArn, resolveKey } from '@kmsgate/core';
import { rotationRefusal } from '../rotation/rotate';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * A key's automatic rotation status as AWS reports it: RotationPeriodInDays and NextRotationDate
 * while rotation is enabled, OnDemandRotationStartDate while an on-demand rotation runs. Keys that
 * cannot rotate (asymmetric, HMAC, imported, custom key store) answer KeyRotationEnabled false, not
 * an error (API reference: "The key rotation status of these KMS keys is always false"; Terraform's
 * aws_kms_key reads it for every key). A key pending deletion reports false too, and gets its
 * status back if the deletion is cancelled.
 */
export const GetKeyRotationStatus = defineOperation({
  name: 'GetKeyRotationStatus',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'GetKeyRotationStatus',
      states: KEY_STATES_FOR.GetKeyRotationStatus,
      allowAliases: false,
    });
    const arn = keyArn(ctx.arn, key.keyId);
    if (rotationRefusal(key, ctx.arn)) return { KeyId: arn, KeyRotationEnabled: false };
    const { schedule, running } = await ctx.rotations.state(key.keyId);
    const enabled = schedule !== undefined && key.keyState !== 'PendingDeletion';
    return {
      KeyId: arn,
      KeyRotationEnabled: enabled,
      ...(enabled ? { RotationPeriodInDays: schedule.periodDays, NextRotationDate: schedule.nextRotationDate } : {}),
      ...(running?.type === 'ON_DEMAND' ? { OnDemandRotationStartDate: running.startedAt } : {}),
    };
  },
});
