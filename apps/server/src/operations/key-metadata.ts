import { hasKeyMaterial, keyArn, keyMaterialId, keySpecInfo, type KeyRecord } from '@kmsgate/core';
import { rotationRefusal } from '../rotation/rotate';
import { signingAlgorithmsFor } from '../signing/aws-checks';
import type { OperationContext } from './operation';

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
    // Imported key material never expires in kmsgate (ImportKeyMaterial refuses KEY_MATERIAL_EXPIRES).
    ...(key.origin === 'EXTERNAL' && hasKeyMaterial(key) ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {}),
    ...(key.origin === 'AWS_CLOUDHSM' ? { CustomKeyStoreId: key.backendId } : {}),
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    // Each list only for keys of its usage, as AWS: a symmetric key has EncryptionAlgorithms only, an HMAC key MacAlgorithms.
    ...(key.keyUsage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: [...(keySpecInfo(key.keySpec).encryptionAlgorithms ?? [])] } : {}),
    ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: signingAlgorithmsFor(key, ctx.backends) } : {}),
    ...(key.keyUsage === 'KEY_AGREEMENT' ? { KeyAgreementAlgorithms: [...(keySpecInfo(key.keySpec).keyAgreementAlgorithms ?? [])] } : {}),
    ...(key.keyUsage === 'GENERATE_VERIFY_MAC' ? { MacAlgorithms: [...(keySpecInfo(key.keySpec).macAlgorithms ?? [])] } : {}),
    MultiRegion: false,
    // AWS: present for symmetric encryption keys that can rotate (Origin AWS_KMS or EXTERNAL; kmsgate imports no symmetric keys).
    ...(!rotationRefusal(key, ctx.arn) ? { CurrentKeyMaterialId: keyMaterialId(key.keyId, ctx.rotations.current(key).version) } : {}),
  };
}
