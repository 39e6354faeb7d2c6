/** What GenerateDataKey and GenerateDataKeyWithoutPlaintext share: their input and their work. */
import { DATA_KEY_SPEC_VALUES, KmsError } from '@kmsgate/core';
import { dryRunRefusal } from '../signing/aws-checks';
import type { UsageContext } from '../operations/operation';
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, RECIPIENT, recipientRefusal } from '../operations/shapes';
import { contextSummary, encryptUnder, encryptionKey } from './envelope';

/** GenerateDataKeyRequest (GenerateDataKeyWithoutPlaintext has the same members but Recipient). */
export const DATA_KEY_REQUEST = {
  type: 'structure',
  members: {
    KeyId: KEY_ID,
    EncryptionContext: ENCRYPTION_CONTEXT,
    NumberOfBytes: { type: 'integer', min: 1, max: 1024 },
    KeySpec: { type: 'string', enum: DATA_KEY_SPEC_VALUES },
    GrantTokens: GRANT_TOKENS,
    Recipient: RECIPIENT,
    DryRun: { type: 'boolean' },
  },
} as const;

const KEY_SPEC_BYTES = { AES_128: 16, AES_256: 32 } as const;

interface DataKeyInput {
  KeyId: string;
  EncryptionContext?: Record<string, string>;
  NumberOfBytes?: number;
  KeySpec?: keyof typeof KEY_SPEC_BYTES;
  Recipient?: object;
  DryRun?: boolean;
}

/**
 * A data key from the key's backend RNG (the device's, as GenerateRandom), and its ciphertext
 * under the KMS key exactly as Encrypt makes it, so Decrypt opens it.
 */
export async function generateDataKey(ctx: UsageContext, input: DataKeyInput, operation: string) {
  // Exactly one of the two (GenerateDataKey API reference); kmsgate's wording.
  if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined))
    throw new KmsError('ValidationException', 'Specify either KeySpec or NumberOfBytes, but not both.');
  if (input.Recipient !== undefined) throw recipientRefusal('the data key');
  const k = await encryptionKey(ctx, input.KeyId, operation, undefined);
  if (input.DryRun === true) throw dryRunRefusal();
  const length = input.NumberOfBytes ?? KEY_SPEC_BYTES[input.KeySpec!];
  const plaintext = await ctx.backendCall(k.backend.random(length), k.backend);
  const { blob, keyMaterialId } = await encryptUnder(ctx, k, plaintext, input.EncryptionContext);
  return { plaintext, blob, keyMaterialId, k, summary: contextSummary(input.EncryptionContext) };
}
