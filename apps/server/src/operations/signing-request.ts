import { KmsError, keyArn, signingInput, type KeyRecord, type SupportedSigningAlgorithm } from '@kmsgate/core';
import type { KeyBackend } from '@kmsgate/core';
import { resolveCallerKey } from '../signing-gates';
import type { OperationContext } from './operation';
import { signingAlgorithmsFor } from './key-metadata';

/**
 * The checks Sign and Verify share, in AWS's order: key resolution, then kmsgate's kill switch
 * (Sign only) and API-key scope, then key state, usage, algorithm for the key spec, message type
 * and digest length, then what the backend supports.
 */
export function prepareSigning(
  operation: 'Sign' | 'Verify',
  input: { KeyId: string; Message: Uint8Array; MessageType?: 'RAW' | 'DIGEST' | 'EXTERNAL_MU'; SigningAlgorithm: string },
  ctx: OperationContext,
): { key: KeyRecord; aliases: string[]; arn: string; backend: KeyBackend; algorithm: SupportedSigningAlgorithm; input: Uint8Array } {
  const { key, aliases } = resolveCallerKey(ctx, input.KeyId, { operation, states: ['Enabled'], usage: 'SIGN_VERIFY' }, operation === 'Sign');
  const prepared = signingInput(key, input.SigningAlgorithm, input.MessageType ?? 'RAW', input.Message);
  const arn = keyArn(ctx.arn, key.keyId);
  if (!signingAlgorithmsFor(key, ctx).includes(prepared.algorithm))
    throw new KmsError('UnsupportedOperationException', `${prepared.algorithm} is not supported by the backend that holds ${arn}.`);
  return { key, aliases, arn, backend: ctx.backends.forKey(key), ...prepared };
}

export function dryRun(): never {
  throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
}
