/**
 * Which device object holds a kmsgate key, and whether an object on a device is that key: the
 * backup, restore and audit commands ask both. An asymmetric key is an asymmetric-key object that
 * shows the recorded public key; a SYMMETRIC_DEFAULT key (docs/cryptography.md) is a wrap-key
 * object and an HMAC key an HMAC-key object, which have no public part, so they are recognised by
 * their algorithm and by the label CreateKey gave them (the key's id).
 */
import { KEY_SPECS, isAsymmetricKeySpec, isSupportedKeySpec, spkiFromRawPublicKey } from '@kmsgate/core';
import { KEY_OBJECT_TYPE, KEY_SPEC_ALGORITHM, ObjectType, type YubiHsmClient } from '@kmsgate/yubihsm';
import { sameBytes } from './device-checks';

export interface KeyIdentity {
  keyId: string;
  keySpec: string;
  /** DER SPKI; empty for a symmetric key. */
  publicKey: Uint8Array;
}

/** The device object type of a kmsgate key's object. */
export function objectTypeOf(keySpec: string): number {
  return isSupportedKeySpec(keySpec) ? KEY_OBJECT_TYPE[KEY_SPECS[keySpec].kind] : ObjectType.ASYMMETRIC_KEY;
}

/** Whether object `id` on the device the session reaches holds key `k`. */
export async function holdsKey(session: YubiHsmClient, id: number, k: KeyIdentity): Promise<boolean> {
  if (!isSupportedKeySpec(k.keySpec)) return false;
  if (!isAsymmetricKeySpec(k.keySpec)) {
    const info = await session.getObjectInfo(id, objectTypeOf(k.keySpec));
    const label = new TextDecoder().decode(info.label).replace(/\0+$/, '');
    return info.algorithm === KEY_SPEC_ALGORITHM[k.keySpec] && label === k.keyId;
  }
  const { publicKey } = await session.getPublicKey(id);
  return sameBytes(spkiFromRawPublicKey(k.keySpec, publicKey), k.publicKey);
}
