import { KmsError } from '@kmsgate/core';
import { defineOperation } from './operation';
import { findCustomKeyStore } from './custom-key-stores';
import { CUSTOM_KEY_STORE_ID, RECIPIENT, recipientRefusal } from './shapes';

/**
 * Random bytes from the device's RNG (YubiHSM 2 Get Pseudo Random), from the backend named by
 * CustomKeyStoreId or the default one. Never from the host: that is what callers ask KMS for.
 */
export const GenerateRandom = defineOperation({
  name: 'GenerateRandom',
  access: 'signer',
  audit: 'none',
  input: {
    type: 'structure',
    members: {
      NumberOfBytes: { type: 'integer', min: 1, max: 1024 },
      CustomKeyStoreId: CUSTOM_KEY_STORE_ID,
      Recipient: RECIPIENT,
    },
  },
  async handler(input, ctx) {
    // The model leaves NumberOfBytes optional; the service requires it (AWS-recorded wording).
    if (input.NumberOfBytes === undefined) throw new KmsError('ValidationException', 'NumberOfBytes is required.');
    if (input.Recipient !== undefined) throw recipientRefusal('the bytes');
    const backend = input.CustomKeyStoreId === undefined ? ctx.backends.defaultBackend : findCustomKeyStore(ctx, input.CustomKeyStoreId);
    return { Plaintext: await ctx.backendCall(backend.random(input.NumberOfBytes), backend) };
  },
});
