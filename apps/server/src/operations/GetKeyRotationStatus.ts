import { KEY_STATES_FOR, keyArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * kmsgate does not rotate key material yet, so the answer is always KeyRotationEnabled false, as
 * AWS answers for asymmetric keys (API reference: "The key rotation status of these KMS keys is
 * always false"); Terraform's aws_kms_key
 * reads it for every key and fails on any error other than NotFound, so this must not be an error.
 * Enable/DisableKeyRotation, RotateKeyOnDemand and ListKeyRotations are UnsupportedOperation
 * (operations/unsupported.ts).
 */
export const GetKeyRotationStatus = defineOperation({
  name: 'GetKeyRotationStatus',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'GetKeyRotationStatus',
      states: KEY_STATES_FOR.GetKeyRotationStatus,
      allowAliases: false,
    });
    return { KeyId: keyArn(ctx.arn, key.keyId), KeyRotationEnabled: false };
  },
});
