import { dryRunRefusal } from '../signing/aws-checks';
import { ciphertextKey, contextSummary, decryptWith, resolveEncryptionKey } from '../encryption/envelope';
import { refuseRsaContext, rsaDecrypt } from '../encryption/rsa';
import { defineOperation } from './operation';
import { CIPHERTEXT_BLOB, ENCRYPTION_ALGORITHM, ENCRYPTION_CONTEXT, GRANT_TOKENS, OPTIONAL_KEY_ID, RECIPIENT, recipientRefusal } from './shapes';

/**
 * Opens a ciphertext of Encrypt, GenerateDataKey* or ReEncrypt. A symmetric ciphertext names its
 * key, so KeyId is optional; given, it must be that key (IncorrectKeyException). An RSA ciphertext
 * names nothing: KeyId and its RSAES_OAEP_* algorithm are required, as in AWS; without them it is
 * just an invalid ciphertext.
 */
export const Decrypt = defineOperation({
  name: 'Decrypt',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: {
      CiphertextBlob: CIPHERTEXT_BLOB,
      EncryptionContext: ENCRYPTION_CONTEXT,
      GrantTokens: GRANT_TOKENS,
      KeyId: OPTIONAL_KEY_ID,
      EncryptionAlgorithm: ENCRYPTION_ALGORITHM,
      Recipient: RECIPIENT,
      DryRun: { type: 'boolean' },
    },
  },
  async handler(input, ctx) {
    if (input.Recipient !== undefined) throw recipientRefusal('the plaintext');
    // A KeyId is resolved first: an RSA key says which algorithm it needs before its ciphertext is
    // read. Without one, the ciphertext must name its key, which only a symmetric one does.
    if (input.KeyId !== undefined) {
      const r = await resolveEncryptionKey(ctx, input.KeyId, 'Decrypt', input.EncryptionAlgorithm);
      if (r.kind === 'rsa') {
        refuseRsaContext(r, input.EncryptionContext);
        if (input.DryRun === true) throw dryRunRefusal();
        const plaintext = await rsaDecrypt(ctx, r, input.CiphertextBlob);
        return { response: { KeyId: r.arn, Plaintext: plaintext, EncryptionAlgorithm: r.algorithm }, keyId: r.key.keyId };
      }
    }
    const source = await ciphertextKey(ctx, input.CiphertextBlob, input.KeyId, 'Decrypt', input.EncryptionAlgorithm);
    const { k } = source;
    if (input.DryRun === true) throw dryRunRefusal();
    const plaintext = await decryptWith(ctx, source, input.EncryptionContext);
    return {
      response: { KeyId: k.arn, Plaintext: plaintext, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: source.keyMaterialId },
      keyId: k.key.keyId,
      summary: contextSummary(input.EncryptionContext),
    };
  },
});
