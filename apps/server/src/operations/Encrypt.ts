import { dryRunRefusal } from '../signing/aws-checks';
import { contextSummary, encryptUnder, resolveEncryptionKey } from '../encryption/envelope';
import { refuseRsaContext, rsaEncrypt } from '../encryption/rsa';
import { defineOperation } from './operation';
import { ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, PLAINTEXT } from './shapes';

/**
 * Up to 4,096 bytes under a SYMMETRIC_DEFAULT key, bound to the encryption context, or what one
 * RSAES-OAEP block holds under an ENCRYPT_DECRYPT RSA key (docs/cryptography.md).
 */
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
    const k = await resolveEncryptionKey(ctx, input.KeyId, 'Encrypt', input.EncryptionAlgorithm);
    if (k.kind === 'rsa') {
      refuseRsaContext(k, input.EncryptionContext);
      const blob = rsaEncrypt(k, input.Plaintext);
      if (input.DryRun === true) throw dryRunRefusal();
      return { response: { CiphertextBlob: blob, KeyId: k.arn, EncryptionAlgorithm: k.algorithm }, keyId: k.key.keyId };
    }
    if (input.DryRun === true) throw dryRunRefusal();
    const { blob } = await encryptUnder(ctx, k, input.Plaintext, input.EncryptionContext);
    return {
      response: { CiphertextBlob: blob, KeyId: k.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      keyId: k.key.keyId,
      summary: contextSummary(input.EncryptionContext),
    };
  },
});
