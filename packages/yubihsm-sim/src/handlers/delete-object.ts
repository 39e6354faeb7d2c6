// DELETE_OBJECT.
import { DeleteObject, DeviceError, DeviceErrorCode } from '@kmsgate/yubihsm';
import { findVisible, requireCapability } from '../access';
import type { SessionContext } from '../handler';
import { DELETE_CAPABILITY } from '../object-types';

export function deleteObject(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = DeleteObject.decodeRequest(payload);
  const capability = DELETE_CAPABILITY.get(req.type);
  if (capability === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireCapability(ctx.session.authority, capability);
  const object = findVisible(ctx.device.store, ctx.session.authority, req.type, req.id);
  ctx.device.mutate(() => ctx.device.store.delete(object.type, object.id));
  return DeleteObject.encodeResponse();
}
