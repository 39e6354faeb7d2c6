import { signThroughGates } from '../signing-gates';
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
  /**
   * 1. Key resolution, kill switch and API-key scope, then AWS's checks (state, usage, algorithm,
   *    message type and length): prepareSigning.
   * 2. For a key with a policy: policy → decode → allowlists → caps → time windows → replay → rate
   *    limits → rolling caps (../signing-gates.ts, docs/policy.md); a refusal is audited with its
   *    gate and reason, a replay hit returns the stored signature without a device call.
   * 3. The device signs; the signature is returned only once its accept record is written.
   * A refusal thrown without auditDenial is still audited, by app.ts (see ../audited.ts).
   */
  async handler(input, ctx) {
    const p = prepareSigning('Sign', input, ctx);
    const signature = await signThroughGates(ctx, {
      key: p.key, aliases: p.aliases, backend: p.backend, algorithm: p.algorithm,
      messageType: input.MessageType === 'DIGEST' ? 'DIGEST' : 'RAW', message: input.Message, input: p.input, dryRun: input.DryRun === true,
    }, dryRun);
    return { KeyId: p.arn, Signature: signature, SigningAlgorithm: p.algorithm };
  },
});
