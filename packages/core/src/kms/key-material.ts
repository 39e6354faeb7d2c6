/**
 * AWS names each key material of a symmetric key with a KeyMaterialId (DescribeKey's
 * CurrentKeyMaterialId, ListKeyRotations, and Decrypt's, GenerateDataKey's and ReEncrypt's
 * KeyMaterialId): 64 lowercase hex characters. kmsgate derives it from the key id and the material
 * version the ciphertext header carries, so it needs no storage and is the same on every gateway.
 */
import { createHash } from 'node:crypto';

const PREFIX = 'kmsgate-key-material-v1';

export function keyMaterialId(keyId: string, version: number): string {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new RangeError('version must be a 32-bit unsigned integer');
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version);
  return createHash('sha256').update(PREFIX).update('\0').update(keyId).update(v).digest('hex');
}
