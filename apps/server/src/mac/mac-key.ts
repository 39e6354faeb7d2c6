/**
 * What GenerateMac and VerifyMac share: the key passes the gates of every key use (kill switch,
 * then the API key's scope, then AWS's state and usage rules), and the algorithm must be its spec's.
 */
import { KmsError, keyArn, keySpecInfo, type KeyBackend, type KeyRecord } from '@kmsgate/core';
import { resolveCallerKey } from '../signing/gates';
import type { UsageContext } from '../operations/operation';

export interface MacKey {
  key: KeyRecord;
  arn: string;
  backend: KeyBackend & Required<Pick<KeyBackend, 'generateMac' | 'verifyMac'>>;
}

export async function macKey(ctx: UsageContext, keyIdParam: string, operation: string, algorithm: string): Promise<MacKey> {
  // Key id or key ARN only, as AWS documents for the MAC operations.
  const { key } = await resolveCallerKey(
    ctx,
    ctx.signing.gates,
    keyIdParam,
    { operation, states: ['Enabled'], usage: 'GENERATE_VERIFY_MAC', allowAliases: false },
    { killSwitch: true, refuse: ctx.refuse },
  );
  const algorithms: readonly string[] = keySpecInfo(key.keySpec).macAlgorithms ?? [];
  // AWS-recorded wording.
  if (!algorithms.includes(algorithm)) throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
  const arn = keyArn(ctx.arn, key.keyId);
  const backend = ctx.backends.forKey(key);
  if (!backend.generateMac || !backend.verifyMac)
    throw new KmsError('UnsupportedOperationException', `The backend that holds ${arn} does not support HMAC keys.`);
  return { key, arn, backend: backend as MacKey['backend'] };
}
