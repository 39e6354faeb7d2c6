import { DATA_KEY_REQUEST, generateDataKey } from '../encryption/data-key';
import { defineOperation } from './operation';

/** A data key in the clear and encrypted under a SYMMETRIC_DEFAULT key (the AWS Encryption SDK's first call). */
export const GenerateDataKey = defineOperation({
  name: 'GenerateDataKey',
  access: 'signer',
  audit: 'usage',
  input: DATA_KEY_REQUEST,
  async handler(input, ctx) {
    const { plaintext, blob, keyMaterialId, k, summary } = await generateDataKey(ctx, input, 'GenerateDataKey');
    return { response: { CiphertextBlob: blob, Plaintext: plaintext, KeyId: k.arn, KeyMaterialId: keyMaterialId }, keyId: k.key.keyId, summary };
  },
});
