import { KmsError, ecPointFromSpki, keyArn } from '@kmsgate/core';
import { dryRunRefusal } from '../signing/aws-checks';
import { resolveCallerKey } from '../signing/gates';
import { defineOperation } from './operation';
import { GRANT_TOKENS, KEY_ID } from './shapes';

/**
 * ECDH between a KEY_AGREEMENT key and the caller's public key, inside the device (YubiHSM 2
 * DERIVE_ECDH): the raw shared secret, the X coordinate of the shared point, as AWS returns it.
 */
export const DeriveSharedSecret = defineOperation({
  name: 'DeriveSharedSecret',
  access: 'signer',
  audit: 'usage',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      KeyAgreementAlgorithm: { type: 'string', required: true, enum: ['ECDH'] },
      PublicKey: { type: 'blob', required: true, min: 1, max: 8192 },
      GrantTokens: GRANT_TOKENS,
      DryRun: { type: 'boolean' },
      Recipient: {
        type: 'structure',
        members: {
          KeyEncryptionAlgorithm: { type: 'string', enum: ['RSAES_OAEP_SHA_256'] },
          AttestationDocument: { type: 'blob', min: 1, max: 262144 },
        },
      },
    },
  },
  async handler(input, ctx) {
    if (input.Recipient !== undefined)
      throw new KmsError(
        'UnsupportedOperationException',
        'kmsgate does not support Recipient: there is no Nitro Enclaves attestation to encrypt the shared secret for.',
      );
    const { key } = await resolveCallerKey(
      ctx,
      ctx.signing.gates,
      input.KeyId,
      { operation: 'DeriveSharedSecret', states: ['Enabled'], usage: 'KEY_AGREEMENT' },
      { killSwitch: true, refuse: ctx.refuse },
    );
    const arn = keyArn(ctx.arn, key.keyId);
    const backend = ctx.backends.forKey(key);
    if (!backend.deriveSharedSecret) throw new KmsError('UnsupportedOperationException', `The backend that holds ${arn} does not support key agreement.`);
    let peer: Uint8Array;
    try {
      peer = ecPointFromSpki(key.keySpec, input.PublicKey);
    } catch {
      throw new KmsError('ValidationException', `PublicKey must be a DER SubjectPublicKeyInfo of a point on the curve of ${key.keySpec}.`);
    }
    if (input.DryRun === true) throw dryRunRefusal();
    const secret = await ctx.backendCall(backend.deriveSharedSecret(key.handle, key.keySpec, peer, key.publicKey), backend);
    ctx.deviceUse(key.keyId);
    return { response: { KeyId: arn, SharedSecret: secret, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: key.origin }, keyId: key.keyId };
  },
});
