// Capability and domain rules (Yubico Capability and Domain concept pages). Every command handler
// goes through these, so no handler decides on its own who may see or use an object.
import { DeviceError, DeviceErrorCode } from '@kmsgate/yubihsm';
import type { ObjectStore, StoredObject } from './object-store';
import type { SessionAuthority } from './session-table';

/** The session's authentication key itself holds `capability`. */
export function requireCapability(authority: SessionAuthority, capability: bigint): void {
  if ((authority.capabilities & capability) !== capability) {
    throw new DeviceError(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  }
}

/** Effective capabilities are the auth key's intersected with the object's: both must hold it. */
export function requireObjectCapability(authority: SessionAuthority, object: StoredObject, capability: bigint): void {
  requireCapability(authority, capability);
  if ((object.capabilities & capability) !== capability) {
    throw new DeviceError(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  }
}

/** An object outside every domain of the session does not exist as far as the session can tell. */
export function isVisible(authority: SessionAuthority, object: StoredObject): boolean {
  return (authority.domains & object.domains) !== 0;
}

export function findVisible(store: ObjectStore, authority: SessionAuthority, type: number, id: number): StoredObject {
  const object = store.get(type, id);
  if (object === undefined || !isVisible(authority, object)) throw new DeviceError(DeviceErrorCode.OBJECT_NOT_FOUND);
  return object;
}

/**
 * A new object may only carry capabilities the auth key may delegate and only domains the auth
 * key is in. `delegated` is the new object's own delegated set (auth and wrap keys), which is
 * bounded by the same rule.
 */
export function requireWithinAuthority(authority: SessionAuthority, fields: { domains: number; capabilities: bigint; delegatedCapabilities?: bigint }): void {
  const allowed = authority.delegatedCapabilities;
  const delegated = fields.delegatedCapabilities ?? 0n;
  if ((fields.capabilities & ~allowed) !== 0n || (delegated & ~allowed) !== 0n || (fields.domains & ~authority.domains) !== 0) {
    throw new DeviceError(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  }
}
