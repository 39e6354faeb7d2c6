import { verifySignature } from '@kmsgate/core';
import { checkSigning, dryRunRefusal } from '../signing/aws-checks';
import { resolveCallerKey } from '../signing/gates';
import { verifyDigestOverride } from '../signing/verify-digest';
import { defineOperation } from './operation';
import { GRANT_TOKENS, KEY_ID, MESSAGE, MESSAGE_TYPE, SIGNING_ALGORITHM } from './shapes';

export const Verify = defineOperation({
  name: 'Verify',
  access: 'signer',
  audit: 'none',
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
  async handler(input, ctx) {
    const caller = await resolveCallerKey(ctx, ctx.signing.gates, input.KeyId, { operation: 'Verify', states: ['Enabled'], usage: 'SIGN_VERIFY' });
    const p = checkSigning(ctx, caller.key, input);
    if (input.DryRun) throw dryRunRefusal();
    // For a key whose policy says chain: ethereum, RAW means the keccak-256 digest Sign RAW signs.
    const digest = verifyDigestOverride(ctx.signing.gates.engine, caller, input.MessageType ?? 'RAW', input.Message) ?? p.input;
    // The public key is public: verification needs no device call (the YubiHSM 2 has no verify command).
    verifySignature(ctx.arn, caller.key, p.algorithm, digest, input.Signature);
    return { KeyId: p.arn, SignatureValid: true, SigningAlgorithm: p.algorithm };
  },
});
