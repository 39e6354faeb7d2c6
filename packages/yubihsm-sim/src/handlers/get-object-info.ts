// GET_OBJECT_INFO. Needs no capability: any object the session can see.
import { DeviceError, DeviceErrorCode, GetObjectInfo } from '@kmsgate/yubihsm';
import { findVisible } from '../access';
import type { SessionContext } from '../handler';
import { isObjectType, objectLength } from '../object-types';

export function getObjectInfo(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GetObjectInfo.decodeRequest(payload);
  if (!isObjectType(req.type)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const o = findVisible(ctx.device.store, ctx.session.authority, req.type, req.id);
  return GetObjectInfo.encodeResponse({
    capabilities: o.capabilities,
    id: o.id,
    length: objectLength(o),
    domains: o.domains,
    type: o.type,
    algorithm: o.algorithm,
    sequence: o.sequence,
    origin: o.origin,
    label: o.label,
    delegatedCapabilities: o.delegatedCapabilities,
  });
}
