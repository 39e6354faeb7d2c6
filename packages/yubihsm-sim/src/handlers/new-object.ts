// Checks and storage shared by every command that creates an object from the common object header.
import { DeviceError, DeviceErrorCode, type ObjectHeader } from '@kmsgate/yubihsm';
import type { SessionContext } from '../handler';
import { padLabel, type NewObject } from '../object-store';

/** 0xFFFF is reserved (0 means "device chooses"); an object must live in at least one domain. */
export function checkNewObjectHeader(header: ObjectHeader): void {
  if (header.id === 0xffff) throw new DeviceError(DeviceErrorCode.INVALID_ID);
  if (header.domains === 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
}

/**
 * Stores a new object described by a request's header, as one persisted change; returns the id it
 * got (the device picks one for id 0). Only wrap and authentication keys delegate capabilities.
 */
export function storeNewObject(
  ctx: SessionContext,
  header: ObjectHeader,
  object: Pick<NewObject, 'type' | 'origin' | 'secret'> & { delegatedCapabilities?: bigint },
): number {
  const stored = ctx.device.mutate(() =>
    ctx.device.store.insert({
      id: header.id,
      algorithm: header.algorithm,
      label: padLabel(header.label),
      domains: header.domains,
      capabilities: header.capabilities,
      delegatedCapabilities: object.delegatedCapabilities ?? 0n,
      type: object.type,
      origin: object.origin,
      secret: object.secret,
    }),
  );
  return stored.id;
}
