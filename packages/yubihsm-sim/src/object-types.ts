// Per-object-type facts the handlers look up instead of branching on types.
import { Capability, ObjectType } from '@kmsgate/yubihsm';
import { keySpec, storedLength } from './key-crypto';
import type { StoredObject } from './object-store';

/** DELETE_OBJECT needs the delete-<type> capability on the session's auth key (Capability page). */
export const DELETE_CAPABILITY: ReadonlyMap<number, bigint> = new Map([
  [ObjectType.OPAQUE, Capability.DELETE_OPAQUE],
  [ObjectType.AUTHENTICATION_KEY, Capability.DELETE_AUTHENTICATION_KEY],
  [ObjectType.ASYMMETRIC_KEY, Capability.DELETE_ASYMMETRIC_KEY],
  [ObjectType.WRAP_KEY, Capability.DELETE_WRAP_KEY],
  [ObjectType.HMAC_KEY, Capability.DELETE_HMAC_KEY],
  [ObjectType.TEMPLATE, Capability.DELETE_TEMPLATE],
  [ObjectType.OTP_AEAD_KEY, Capability.DELETE_OTP_AEAD_KEY],
  [ObjectType.SYMMETRIC_KEY, Capability.DELETE_SYMMETRIC_KEY],
  [ObjectType.PUBLIC_WRAP_KEY, Capability.DELETE_PUBLIC_WRAP_KEY],
]);

export function isObjectType(type: number): boolean {
  return DELETE_CAPABILITY.has(type);
}

/**
 * GET_OBJECT_INFO's length: the device's internal size. An authentication key is
 * DelegatedCaps(8) || K-ENC || K-MAC = 40 bytes (matches hardware reports); asymmetric keys per
 * key-crypto.
 */
export function objectLength(object: StoredObject): number {
  if (object.type === ObjectType.AUTHENTICATION_KEY) return 8 + object.secret.length;
  const spec = keySpec(object.algorithm);
  return spec === undefined ? object.secret.length : storedLength(spec);
}
