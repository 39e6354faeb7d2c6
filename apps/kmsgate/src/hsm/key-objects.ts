/**
 * Which device object holds a kmsgate key, and whether an object on a device is that key: the
 * backup, restore and audit commands ask both. An asymmetric key is an asymmetric-key object that
 * shows the recorded public key; a SYMMETRIC_DEFAULT key (docs/cryptography.md) is a wrap-key
 * object, which has no public part, so it is recognised by its algorithm and by the label CreateKey
 * gave it (the key's id).
 */
import { KEY_SPECS, isSupportedKeySpec, spkiFromRawPublicKey, type AsymmetricKeySpec } from '@kmsgate/core';
import { Algorithm, ObjectType, type YubiHsmClient } from '@kmsgate/yubihsm';
import { sameBytes } from './device-checks';

export interface KeyIdentity {
  keyId: string;
  keySpec: string;
  /** DER SPKI; empty for a symmetric key. */
  publicKey: Uint8Array;
}

export function isSymmetric(keySpec: string): boolean {
  return isSupportedKeySpec(keySpec) && KEY_SPECS[keySpec].kind === 'symmetric';
}

/** The device object type of a kmsgate key's object. */
export function objectTypeOf(keySpec: string): number {
  return isSymmetric(keySpec) ? ObjectType.WRAP_KEY : ObjectType.ASYMMETRIC_KEY;
}

/** Whether object `id` on the device the session reaches holds key `k`. */
export async function holdsKey(session: YubiHsmClient, id: number, k: KeyIdentity): Promise<boolean> {
  if (isSymmetric(k.keySpec)) {
    const info = await session.getObjectInfo(id, ObjectType.WRAP_KEY);
    const label = new TextDecoder().decode(info.label).replace(/\0+$/, '');
    return info.algorithm === Algorithm.AES256_CCM_WRAP && label === k.keyId;
  }
  const { publicKey } = await session.getPublicKey(id);
  return sameBytes(spkiFromRawPublicKey(k.keySpec as AsymmetricKeySpec, publicKey), k.publicKey);
}
