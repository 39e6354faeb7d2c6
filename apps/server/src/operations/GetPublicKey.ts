import { KmsError, isAsymmetricKeySpec, keyArn, keySpecInfo } from '@kmsgate/core';
import { resolveCallerKey } from '../signing/gates';
import { defineOperation } from './operation';
import { signingAlgorithmsFor } from '../signing/aws-checks';
import { GRANT_TOKENS, KEY_ID } from './shapes';

export const GetPublicKey = defineOperation({
  name: 'GetPublicKey',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS } },
  async handler(input, ctx) {
    // AWS serves the public key of a disabled key too; only pending deletion is refused.
    const { key } = await resolveCallerKey(ctx, ctx.signing.gates, input.KeyId, { operation: 'GetPublicKey', states: ['Enabled', 'Disabled'] });
    if (!isAsymmetricKeySpec(key.keySpec))
      throw new KmsError(
        'UnsupportedOperationException',
        `${keyArn(ctx.arn, key.keyId)} is ${key.keySpec === 'SYMMETRIC_DEFAULT' ? 'a symmetric' : 'an HMAC'} key: it has no public key.`,
      );
    return {
      KeyId: keyArn(ctx.arn, key.keyId),
      PublicKey: key.publicKey,
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...(key.keyUsage === 'KEY_AGREEMENT'
        ? { KeyAgreementAlgorithms: ['ECDH'] }
        : key.keyUsage === 'ENCRYPT_DECRYPT'
          ? { EncryptionAlgorithms: [...(keySpecInfo(key.keySpec).encryptionAlgorithms ?? [])] }
          : { SigningAlgorithms: signingAlgorithmsFor(key, ctx.backends) }),
    };
  },
});
