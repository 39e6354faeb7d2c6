// Per-object-type facts the handlers look up instead of branching on types.
import { Capability, ObjectType } from '@kmsgate/yubihsm';
import { keySpec, storedLength } from './key-crypto';
import type { StoredObject } from './object-store';
import { HMAC_SPECS } from './symmetric-specs';

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
 * GET_OBJECT_INFO's length: the device's internal size, the body of a wrapped export
 * (object-body.ts). Authentication and wrap keys are DelegatedCaps(8) || key (40 bytes for an
 * authentication key, 24 for aes128-ccm-wrap, as hardware reports); an HMAC key is its two padded
 * keys (128 for hmac-sha256); asymmetric keys per key-crypto.
 */
export function objectLength(object: StoredObject): number {
  const delegated = object.type === ObjectType.AUTHENTICATION_KEY || object.type === ObjectType.WRAP_KEY ? 8 : 0;
  const hmac = HMAC_SPECS.get(object.algorithm);
  if (object.type === ObjectType.HMAC_KEY && hmac !== undefined) return 2 * hmac.blockSize;
  const spec = keySpec(object.algorithm);
  return delegated + (spec === undefined ? object.secret.length : storedLength(spec));
}
