// The HMAC key a SIGN_HMAC or VERIFY_HMAC names, and the MAC itself.
import { createHmac } from 'node:crypto';
import { ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from './access';
import type { SessionContext } from './handler';
import type { StoredObject } from './object-store';
import { HMAC_SPECS, type HmacSpec } from './symmetric-specs';

/** The session and the key must both hold `capability` (sign-hmac or verify-hmac). */
export function hmacKey(ctx: SessionContext, id: number, capability: bigint): { key: StoredObject; spec: HmacSpec } {
  const { authority } = ctx.session;
  requireCapability(authority, capability);
  const key = findVisible(ctx.device.store, authority, ObjectType.HMAC_KEY, id);
  requireObjectCapability(authority, key, capability);
  const spec = HMAC_SPECS.get(key.algorithm);
  if (spec === undefined) throw new RangeError(`HMAC key 0x${id.toString(16)} has algorithm ${key.algorithm}`);
  return { key, spec };
}

export function hmac(spec: HmacSpec, key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(spec.hash, key).update(data).digest());
}
