import { dryRunRefusal } from '../signing/aws-checks';
import { contextSummary, encryptUnder, encryptionKey } from '../encryption/envelope';
import { defineOperation } from './operation';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, PLAINTEXT } from './shapes';

/** Up to 4,096 bytes under a SYMMETRIC_DEFAULT key, bound to the encryption context (docs/cryptography.md). */
export const Encrypt = defineOperation({
  name: 'Encrypt',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      Plaintext: PLAINTEXT,
      EncryptionContext: ENCRYPTION_CONTEXT,
      GrantTokens: GRANT_TOKENS,
      EncryptionAlgorithm: ENCRYPTION_ALGORITHM,
      DryRun: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    const k = encryptionKey(ctx, input.KeyId, 'Encrypt', input.EncryptionAlgorithm);
    if (input.DryRun === true) throw dryRunRefusal();
    const { blob } = await encryptUnder(ctx, k, input.Plaintext, input.EncryptionContext);
    return {
      response: { CiphertextBlob: blob, KeyId: k.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      keyId: k.key.keyId,
      summary: contextSummary(input.EncryptionContext),
    };
  },
});
