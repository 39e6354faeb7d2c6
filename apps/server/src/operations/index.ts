import type { Operation } from './operation';
import { CancelKeyDeletion } from './CancelKeyDeletion';
import { CreateAlias } from './CreateAlias';
import { CreateKey } from './CreateKey';
import { Decrypt } from './Decrypt';
import { DeleteAlias } from './DeleteAlias';
import { DeriveAddress } from './DeriveAddress';
import { DeriveSharedSecret } from './DeriveSharedSecret';
import { DescribeCustomKeyStores } from './DescribeCustomKeyStores';
import { DescribeKey } from './DescribeKey';
import { DisableKey } from './DisableKey';
import { DisableKeyRotation } from './DisableKeyRotation';
import { EnableKey } from './EnableKey';
import { EnableKeyRotation } from './EnableKeyRotation';
import { Encrypt } from './Encrypt';
import { GenerateDataKey } from './GenerateDataKey';
import { GenerateDataKeyPair } from './GenerateDataKeyPair';
import { GenerateDataKeyPairWithoutPlaintext } from './GenerateDataKeyPairWithoutPlaintext';
import { GenerateDataKeyWithoutPlaintext } from './GenerateDataKeyWithoutPlaintext';
import { GenerateMac } from './GenerateMac';
import { GenerateRandom } from './GenerateRandom';
import { GetKeyPolicy } from './GetKeyPolicy';
import { GetKeyRotationStatus } from './GetKeyRotationStatus';
import { GetParametersForImport } from './GetParametersForImport';
import { GetPublicKey } from './GetPublicKey';
import { GetSigningBudget } from './GetSigningBudget';
import { ImportKeyMaterial } from './ImportKeyMaterial';
import { ListAliases } from './ListAliases';
import { ListKeyPolicies } from './ListKeyPolicies';
import { ListKeyRotations } from './ListKeyRotations';
import { ListKeys } from './ListKeys';
import { ListResourceTags } from './ListResourceTags';
import { PutKeyPolicy } from './PutKeyPolicy';
import { ReEncrypt } from './ReEncrypt';
import { RotateKeyOnDemand } from './RotateKeyOnDemand';
import { ScheduleKeyDeletion } from './ScheduleKeyDeletion';
import { Sign } from './Sign';
import { TagResource } from './TagResource';
import { UntagResource } from './UntagResource';
import { UpdateAlias } from './UpdateAlias';
import { UpdateKeyDescription } from './UpdateKeyDescription';
import { Verify } from './Verify';
import { VerifyMac } from './VerifyMac';
import { UNSUPPORTED } from './unsupported';

/**
 * Every TrentService operation kmsgate serves, by its X-Amz-Target name. An explicit table, so
 * what is served is visible in one place. The other KMS operations are in the UNSUPPORTED table
 * (UnsupportedOperationException); anything else is UnknownOperationException.
 */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  CancelKeyDeletion,
  CreateAlias,
  CreateKey,
  Decrypt,
  DeleteAlias,
  DeriveSharedSecret,
  DescribeCustomKeyStores,
  DescribeKey,
  DisableKey,
  DisableKeyRotation,
  EnableKey,
  EnableKeyRotation,
  Encrypt,
  GenerateDataKey,
  GenerateDataKeyPair,
  GenerateDataKeyPairWithoutPlaintext,
  GenerateDataKeyWithoutPlaintext,
  GenerateMac,
  GenerateRandom,
  GetKeyPolicy,
  GetKeyRotationStatus,
  GetParametersForImport,
  GetPublicKey,
  ImportKeyMaterial,
  ListAliases,
  ListKeyPolicies,
  ListKeyRotations,
  ListKeys,
  ListResourceTags,
  PutKeyPolicy,
  ReEncrypt,
  RotateKeyOnDemand,
  ScheduleKeyDeletion,
  Sign,
  TagResource,
  UntagResource,
  UpdateAlias,
  UpdateKeyDescription,
  Verify,
  VerifyMac,
};

/**
 * kmsgate's own operations, served under the same TrentService target prefix and paths but not
 * part of AWS KMS (no AWS SDK has a command for them). Kept apart from OPERATIONS so the AWS
 * coverage checks stay about AWS; docs/api-coverage.md lists them in a table of their own.
 */
export const KMSGATE_OPERATIONS: Readonly<Record<string, Operation>> = {
  DeriveAddress,
  GetSigningBudget,
};

const own = (table: Readonly<Record<string, Operation>>, name: string) => (Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined);

export function findOperation(name: string): Operation | undefined {
  return own(OPERATIONS, name) ?? own(KMSGATE_OPERATIONS, name) ?? own(UNSUPPORTED, name);
}
