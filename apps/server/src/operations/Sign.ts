import { defineOperation } from './operation';
import { dryRun, prepareSigning } from './signing-request';
import { GRANT_TOKENS, KEY_ID, MESSAGE, MESSAGE_TYPE, SIGNING_ALGORITHM } from './shapes';

export const Sign = defineOperation({
  name: 'Sign',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      Message: MESSAGE,
      MessageType: MESSAGE_TYPE,
      GrantTokens: GRANT_TOKENS,
      SigningAlgorithm: SIGNING_ALGORITHM,
      DryRun: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    const p = prepareSigning('Sign', input, ctx);
    if (input.DryRun) dryRun();
    const signature = await ctx.backendCall(p.backend.sign(p.key.handle, p.key.keySpec, p.algorithm, p.input));
    return { KeyId: p.arn, Signature: signature, SigningAlgorithm: p.algorithm };
  },
});
