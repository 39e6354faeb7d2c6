import { DATA_KEY_REQUEST, generateDataKey } from '../encryption/data-key';
import { defineOperation } from './operation';

const { Recipient: _recipient, ...members } = DATA_KEY_REQUEST.members;

/** GenerateDataKey whose answer carries only the encrypted data key. */
export const GenerateDataKeyWithoutPlaintext = defineOperation({
  name: 'GenerateDataKeyWithoutPlaintext',
  access: 'signer',
  audit: 'usage',
  input: { type: 'structure', members },
  async handler(input, ctx) {
    const { plaintext, blob, keyMaterialId, k, summary } = await generateDataKey(ctx, input, 'GenerateDataKeyWithoutPlaintext');
    plaintext.fill(0);
    return { response: { CiphertextBlob: blob, KeyId: k.arn, KeyMaterialId: keyMaterialId }, keyId: k.key.keyId, summary };
  },
});
