import { KEY_STATES_FOR, hasKeyMaterial, keyArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * PendingDeletion → Disabled, as on AWS (the key must be enabled again explicitly); a key that
 * never got its key material goes back to PendingImport. A key whose
 * deletion date has passed no longer exists, so it cannot be brought back while the sweeper is
 * destroying it.
 */
export const CancelKeyDeletion = defineOperation({
  name: 'CancelKeyDeletion',
  access: 'admin',
  audit: 'admin',
  auditKey: (_input, response) => (response as { KeyId: string }).KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'CancelKeyDeletion',
      states: KEY_STATES_FOR.CancelKeyDeletion,
      allowAliases: false,
    });
    await ctx.keys.setKeyState(key.keyId, hasKeyMaterial(key) ? 'Disabled' : 'PendingImport');
    return { KeyId: keyArn(ctx.arn, key.keyId) };
  },
});
