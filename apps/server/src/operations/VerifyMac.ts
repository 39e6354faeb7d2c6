import { KmsError, keySpecInfo } from '@kmsgate/core';
import { dryRunRefusal } from '../signing/aws-checks';
import { macKey } from '../mac/mac-key';
import { defineOperation } from './operation';
import { GRANT_TOKENS, KEY_ID, MAC_ALGORITHM, MESSAGE } from './shapes';

/** Checks a MAC inside the device; one that does not match is KMSInvalidMacException, as on AWS. */
export const VerifyMac = defineOperation({
  name: 'VerifyMac',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: {
      Message: MESSAGE,
      KeyId: KEY_ID,
      MacAlgorithm: MAC_ALGORITHM,
      Mac: { type: 'blob', required: true, min: 1, max: 6144 },
      GrantTokens: GRANT_TOKENS,
      DryRun: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    const k = await macKey(ctx, input.KeyId, 'VerifyMac', input.MacAlgorithm);
    if (input.DryRun === true) throw dryRunRefusal();
    const info = keySpecInfo(k.key.keySpec);
    // A MAC of another length than the key's cannot be its MAC: refused without a device command.
    if (info.kind !== 'hmac' || input.Mac.length !== info.macLength) throw new KmsError('KMSInvalidMacException', '');
    // Not a counted device use: VERIFY_HMAC reveals nothing and is not among the commands the device logs (ceremony/layout.ts).
    const valid = await ctx.backendCall(k.backend.verifyMac(k.key.handle, k.key.keySpec, input.Message, input.Mac), k.backend);
    if (!valid) throw new KmsError('KMSInvalidMacException', '');
    return { response: { KeyId: k.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm }, keyId: k.key.keyId };
  },
});
