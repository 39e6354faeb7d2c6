import { KEY_SPECS, keyArn, type KeyRecord } from '@kmsgate/core';
import type { OperationContext } from './operation';

/** The algorithms a key can really use: AWS's list for its spec, narrowed to what its backend signs. */
export function signingAlgorithmsFor(key: KeyRecord, ctx: OperationContext): string[] {
  const backend = ctx.backends.find(key.backendId);
  const all = KEY_SPECS[key.keySpec].signingAlgorithms as readonly string[];
  return backend ? all.filter((a) => (backend.signingAlgorithms as readonly string[]).includes(a)) : [...all];
}

/** AWS's KeyMetadata structure for a key. */
export function keyMetadata(key: KeyRecord, ctx: OperationContext): Record<string, unknown> {
  return {
    AWSAccountId: ctx.arn.accountId,
    KeyId: key.keyId,
    Arn: keyArn(ctx.arn, key.keyId),
    CreationDate: key.createdAt,
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.keyState,
    ...(key.deletionDate ? { DeletionDate: key.deletionDate } : {}),
    Origin: key.origin,
    ...(key.origin === 'AWS_CLOUDHSM' ? { CustomKeyStoreId: key.backendId } : {}),
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    SigningAlgorithms: signingAlgorithmsFor(key, ctx),
    MultiRegion: false,
  };
}
