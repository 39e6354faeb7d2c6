import { DATA_KEY_PAIR_REQUEST, generateDataKeyPair } from '../encryption/data-key-pair';
import { defineOperation } from './operation';

/**
 * An asymmetric key pair for use outside kmsgate: the public key (DER SPKI), the private key
 * (PKCS#8 DER), and the private key encrypted under a SYMMETRIC_DEFAULT key, which Decrypt opens.
 */
export const GenerateDataKeyPair = defineOperation({
  name: 'GenerateDataKeyPair',
  access: 'signer',
  audit: 'usage',
  input: DATA_KEY_PAIR_REQUEST,
  async handler(input, ctx) {
    const { privateKey, response, keyId, summary } = await generateDataKeyPair(ctx, input, 'GenerateDataKeyPair');
    return { response: { ...response, PrivateKeyPlaintext: privateKey }, keyId, summary };
  },
});
