import { verifySignature } from '@kmsgate/core';
import { verifyDigestOverride } from '../signing-gates';
import { defineOperation } from './operation';
import { dryRun, prepareSigning } from './signing-request';
import { GRANT_TOKENS, KEY_ID, MESSAGE, MESSAGE_TYPE, SIGNING_ALGORITHM } from './shapes';

export const Verify = defineOperation({
  name: 'Verify',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      Message: MESSAGE,
      MessageType: MESSAGE_TYPE,
      Signature: { type: 'blob', required: true, min: 1, max: 6144 },
      SigningAlgorithm: SIGNING_ALGORITHM,
      GrantTokens: GRANT_TOKENS,
      DryRun: { type: 'boolean' },
    },
  },
  handler(input, ctx) {
    const p = prepareSigning('Verify', input, ctx);
    if (input.DryRun) dryRun();
    // For a key whose policy says chain: ethereum, RAW means the keccak-256 digest Sign RAW signs.
    const digest = verifyDigestOverride(ctx, p, input.MessageType ?? 'RAW', input.Message) ?? p.input;
    // The public key is public: verification needs no device call (the YubiHSM 2 has no verify command).
    verifySignature(ctx.arn, p.key, p.algorithm, digest, input.Signature);
    return { KeyId: p.arn, SignatureValid: true, SigningAlgorithm: p.algorithm };
  },
});
