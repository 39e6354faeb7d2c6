import { dryRunRefusal } from '../signing/aws-checks';
import { ciphertextKey, contextSummary, decryptWith, encryptUnder, resolveEncryptionKey } from '../encryption/envelope';
import { refuseRsaContext, rsaDecrypt, rsaEncrypt } from '../encryption/rsa';
import { defineOperation } from './operation';
import { CIPHERTEXT_BLOB, ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, OPTIONAL_KEY_ID } from './shapes';

/**
 * Decrypts under the source key and context and encrypts under the destination key and context,
 * inside the gateway: the plaintext is never returned. The caller's scope must allow both keys.
 * Either may be an ENCRYPT_DECRYPT RSA key with its algorithm (an RSA source needs SourceKeyId:
 * its ciphertext names no key).
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
    const named =
      input.SourceKeyId !== undefined ? await resolveEncryptionKey(ctx, input.SourceKeyId, 'ReEncrypt', input.SourceEncryptionAlgorithm) : undefined;
    const rsaSource = named?.kind === 'rsa' ? named : undefined;
    const source = rsaSource ? undefined : await ciphertextKey(ctx, input.CiphertextBlob, input.SourceKeyId, 'ReEncrypt', input.SourceEncryptionAlgorithm);
    const destination = await resolveEncryptionKey(ctx, input.DestinationKeyId, 'ReEncrypt', input.DestinationEncryptionAlgorithm);
    if (rsaSource) refuseRsaContext(rsaSource, input.SourceEncryptionContext);
    if (destination.kind === 'rsa') refuseRsaContext(destination, input.DestinationEncryptionContext);
    if (input.DryRun === true) throw dryRunRefusal();
    const plaintext = rsaSource ? await rsaDecrypt(ctx, rsaSource, input.CiphertextBlob) : await decryptWith(ctx, source!, input.SourceEncryptionContext);
    let encrypted: { blob: Uint8Array; keyMaterialId?: string };
    try {
      encrypted =
        destination.kind === 'rsa'
          ? { blob: rsaEncrypt(destination, plaintext) }
          : await encryptUnder(ctx, destination, plaintext, input.DestinationEncryptionContext);
    } finally {
      plaintext.fill(0);
    }
    const sourceKey = rsaSource ?? source!.k;
    const src = contextSummary(input.SourceEncryptionContext);
    const dst = contextSummary(input.DestinationEncryptionContext);
    return {
      response: {
        CiphertextBlob: encrypted.blob,
        SourceKeyId: sourceKey.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: rsaSource?.algorithm ?? 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: destination.kind === 'rsa' ? destination.algorithm : 'SYMMETRIC_DEFAULT',
        // Key material ids are a symmetric key's (rotation); an RSA key has one material.
        ...(source ? { SourceKeyMaterialId: source.keyMaterialId } : {}),
        ...(encrypted.keyMaterialId !== undefined ? { DestinationKeyMaterialId: encrypted.keyMaterialId } : {}),
      },
      keyId: destination.key.keyId,
      summary: {
        SourceKeyId: sourceKey.key.keyId,
        ...(src ? { SourceEncryptionContext: src.EncryptionContext } : {}),
        ...(dst ? { DestinationEncryptionContext: dst.EncryptionContext } : {}),
      },
    };
  },
});
