import { dryRunRefusal } from '../signing/aws-checks';
import { macKey } from '../mac/mac-key';
import { defineOperation } from './operation';
import { GRANT_TOKENS, KEY_ID, MAC_ALGORITHM, MESSAGE } from './shapes';

/** The key's HMAC of up to 4,096 bytes, made inside the device (docs/cryptography.md, "HMAC keys"). */
export const GenerateMac = defineOperation({
  name: 'GenerateMac',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: { Message: MESSAGE, KeyId: KEY_ID, MacAlgorithm: MAC_ALGORITHM, GrantTokens: GRANT_TOKENS, DryRun: { type: 'boolean' } },
  },
  async handler(input, ctx) {
    const k = await macKey(ctx, input.KeyId, 'GenerateMac', input.MacAlgorithm);
    if (input.DryRun === true) throw dryRunRefusal();
    const mac = await ctx.backendCall(k.backend.generateMac(k.key.handle, k.key.keySpec, input.Message), k.backend);
    ctx.deviceUse(k.key.keyId);
    return { response: { Mac: mac, MacAlgorithm: input.MacAlgorithm, KeyId: k.arn }, keyId: k.key.keyId };
  },
});
