import { DATA_KEY_PAIR_REQUEST, generateDataKeyPair } from '../encryption/data-key-pair';
import { defineOperation } from './operation';

const { Recipient: _recipient, ...members } = DATA_KEY_PAIR_REQUEST.members;

/** GenerateDataKeyPair whose answer carries the public key and the encrypted private key only. */
export const GenerateDataKeyPairWithoutPlaintext = defineOperation({
  name: 'GenerateDataKeyPairWithoutPlaintext',
  access: 'signer',
  audit: 'usage',
  input: { type: 'structure', members },
  async handler(input, ctx) {
    const { privateKey, response, keyId, summary } = await generateDataKeyPair(ctx, input, 'GenerateDataKeyPairWithoutPlaintext');
    privateKey.fill(0);
    return { response, keyId, summary };
  },
});
