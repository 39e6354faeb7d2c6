import { KmsError, keyArn } from '@kmsgate/core';
import { DecodeError, deriveAddress } from '@kmsgate/chains';
import { resolveCallerKey } from '../signing/gates';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/** The chains DeriveAddress knows, and the key spec each needs. */
const CHAIN_KEY_SPECS = { ethereum: 'ECC_SECG_P256K1', solana: 'ECC_NIST_EDWARDS25519', cosmos: 'ECC_SECG_P256K1' } as const;
const CHAINS = ['ethereum', 'solana', 'cosmos'] as const;

/**
 * kmsgate's own operation (not in AWS KMS): the address a key has on a chain, from its public key
 * (no device call): EIP-55 for Ethereum, base58 for Solana, bech32 with `Prefix` (default
 * "cosmos") for Cosmos. Scoped like GetPublicKey: enabled and disabled keys, in the API key's scope.
 */
export const DeriveAddress = defineOperation({
  name: 'DeriveAddress',
  access: 'signer',
  audit: 'none',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      Chain: { type: 'string', required: true, enum: CHAINS },
      // BIP-173: a bech32 string is at most 90 characters, so a 20-byte address leaves 51 for the prefix.
      Prefix: { type: 'string', min: 1, max: 51, pattern: /^[a-z0-9]+$/, patternText: '[a-z0-9]+' },
    },
  },
  async handler(input, ctx) {
    if (input.Prefix !== undefined && input.Chain !== 'cosmos')
      throw new KmsError('ValidationException', `Prefix applies to Chain cosmos only, not ${input.Chain}.`);
    const { key } = await resolveCallerKey(ctx, ctx.signing.gates, input.KeyId, { operation: 'DeriveAddress', states: ['Enabled', 'Disabled'] });
    const arn = keyArn(ctx.arn, key.keyId);
    const spec = CHAIN_KEY_SPECS[input.Chain];
    if (key.keySpec !== spec)
      throw new KmsError('InvalidKeyUsageException', `${arn} key spec is ${key.keySpec}; a ${input.Chain} address needs a ${spec} key.`);
    let address: string;
    try {
      address = deriveAddress(input.Chain, key.publicKey, input.Prefix !== undefined ? { prefix: input.Prefix } : {});
    } catch (e) {
      // The stored public key is the backend's; one that does not parse is a fault, not a client error.
      if (e instanceof DecodeError) throw new KmsError('KMSInternalException', `The public key of ${arn} could not be read.`, { cause: e });
      throw e;
    }
    return { KeyId: arn, Chain: input.Chain, Address: address };
  },
});
