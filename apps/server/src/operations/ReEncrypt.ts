import { dryRunRefusal } from '../signing/aws-checks';
import { ciphertextKey, contextSummary, decryptWith, encryptUnder, encryptionKey } from '../encryption/envelope';
import { defineOperation } from './operation';
import { CIPHERTEXT_BLOB, ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, OPTIONAL_KEY_ID } from './shapes';

/**
 * Decrypts under the source key and context and encrypts under the destination key and context,
 * inside the gateway: the plaintext is never returned. The caller's scope must allow both keys.
 */
export const ReEncrypt = defineOperation({
  name: 'ReEncrypt',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: {
      CiphertextBlob: CIPHERTEXT_BLOB,
      SourceEncryptionContext: ENCRYPTION_CONTEXT,
      SourceKeyId: OPTIONAL_KEY_ID,
      DestinationKeyId: KEY_ID,
      DestinationEncryptionContext: ENCRYPTION_CONTEXT,
      SourceEncryptionAlgorithm: ENCRYPTION_ALGORITHM,
      DestinationEncryptionAlgorithm: ENCRYPTION_ALGORITHM,
      GrantTokens: GRANT_TOKENS,
      DryRun: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    const source = ciphertextKey(ctx, input.CiphertextBlob, input.SourceKeyId, 'ReEncrypt', input.SourceEncryptionAlgorithm);
    const destination = encryptionKey(ctx, input.DestinationKeyId, 'ReEncrypt', input.DestinationEncryptionAlgorithm);
    if (input.DryRun === true) throw dryRunRefusal();
    const plaintext = await decryptWith(ctx, source, input.SourceEncryptionContext);
    let encrypted: Awaited<ReturnType<typeof encryptUnder>>;
    try {
      encrypted = await encryptUnder(ctx, destination, plaintext, input.DestinationEncryptionContext);
    } finally {
      plaintext.fill(0);
    }
    const src = contextSummary(input.SourceEncryptionContext);
    const dst = contextSummary(input.DestinationEncryptionContext);
    return {
      response: {
        CiphertextBlob: encrypted.blob,
        SourceKeyId: source.k.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        SourceKeyMaterialId: source.keyMaterialId,
        DestinationKeyMaterialId: encrypted.keyMaterialId,
      },
      keyId: destination.key.keyId,
      summary: {
        SourceKeyId: source.k.key.keyId,
        ...(src ? { SourceEncryptionContext: src.EncryptionContext } : {}),
        ...(dst ? { DestinationEncryptionContext: dst.EncryptionContext } : {}),
      },
    };
  },
});
