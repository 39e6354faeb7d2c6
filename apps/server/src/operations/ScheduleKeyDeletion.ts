import { KEY_STATES_FOR, KmsError, keyArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/** AWS API reference, ScheduleKeyDeletion: "it must be between 7 and 30, inclusive ... defaults to 30". */
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;
export const DEFAULT_PENDING_WINDOW_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Marks the key PendingDeletion with a DeletionDate `PendingWindowInDays` from now. When that date
 * passes the key no longer exists for clients, and the deletion sweeper destroys its device object
 * (apps/server/src/deletion-sweeper.ts).
 */
export const ScheduleKeyDeletion = defineOperation({
  name: 'ScheduleKeyDeletion',
  access: 'admin',
  audit: 'admin',
  auditKey: (_input, response) => (response as { KeyId: string }).KeyId,
  input: {
    type: 'structure',
    // The model allows 1-365 (values outside get the validator's sentence); the service allows 7-30.
    members: { KeyId: KEY_ID, PendingWindowInDays: { type: 'integer', min: 1, max: 365 } },
  },
  async handler(input, ctx) {
    const days = input.PendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS;
    // AWS's answer for a value in the model's range but outside 7-30, as a real AWS response quoted
    // in Skyscanner/kms-issuer#8 ("ValidationException: PendingWindowInDays must be between 7 and 30").
    // LocalStack's snapshot has no recording of it.
    if (days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS)
      throw new KmsError('ValidationException', `PendingWindowInDays must be between ${MIN_PENDING_WINDOW_DAYS} and ${MAX_PENDING_WINDOW_DAYS}`);
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'ScheduleKeyDeletion',
      states: KEY_STATES_FOR.ScheduleKeyDeletion,
      allowAliases: false,
    });
    const deletionDate = new Date(ctx.now().getTime() + days * DAY_MS);
    await ctx.keys.setKeyState(key.keyId, 'PendingDeletion', deletionDate);
    return { KeyId: keyArn(ctx.arn, key.keyId), DeletionDate: deletionDate, KeyState: 'PendingDeletion', PendingWindowInDays: days };
  },
});
