/** AWS's own rules for Sign and Verify, after the key is resolved and passed the gates. */
import { KEY_SPECS, KmsError, keyArn, signingInput, type KeyBackend, type KeyRecord, type SupportedSigningAlgorithm } from '@kmsgate/core';
import type { BackendRegistry } from '../backends';
import type { RequestContext } from '../request-context';

/** The algorithms a key can really use: AWS's list for its spec, narrowed to what its backend signs. */
export function signingAlgorithmsFor(key: KeyRecord, backends: BackendRegistry): string[] {
  const backend = backends.find(key.backendId);
  const all = KEY_SPECS[key.keySpec].signingAlgorithms as readonly string[];
  return backend ? all.filter((a) => (backend.signingAlgorithms as readonly string[]).includes(a)) : [...all];
}

export interface CheckedSigning {
  arn: string;
  backend: KeyBackend;
  algorithm: SupportedSigningAlgorithm;
  /** What AWS's rules give the device: the digest (hashed here for RAW ECDSA) or the message (Ed25519). */
  input: Uint8Array;
}

/**
 * In AWS's order, for a key that is resolved, Enabled and SIGN_VERIFY: the algorithm for the key
 * spec, message type and digest length (core's signingInput), then what the backend supports.
 */
export function checkSigning(
  ctx: RequestContext,
  key: KeyRecord,
  input: { Message: Uint8Array; MessageType?: 'RAW' | 'DIGEST' | 'EXTERNAL_MU'; SigningAlgorithm: string },
): CheckedSigning {
  const prepared = signingInput(key, input.SigningAlgorithm, input.MessageType ?? 'RAW', input.Message);
  const arn = keyArn(ctx.arn, key.keyId);
  if (!signingAlgorithmsFor(key, ctx.backends).includes(prepared.algorithm))
    throw new KmsError('UnsupportedOperationException', `${prepared.algorithm} is not supported by the backend that holds ${arn}.`);
  return { arn, backend: ctx.backends.forKey(key), ...prepared };
}

export function dryRunRefusal(): KmsError {
  return new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
}
