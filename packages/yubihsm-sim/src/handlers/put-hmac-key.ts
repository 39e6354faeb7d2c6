// PUT_HMAC_KEY: a key of 1 byte up to the hash's block size (PUT HMAC KEY page).
import { Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutHmacKey } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { HMAC_SPECS } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function putHmacKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutHmacKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_MAC_KEY);
  checkNewObjectHeader(req);
  const spec = HMAC_SPECS.get(req.algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  if (req.key.length === 0 || req.key.length > spec.blockSize) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  requireWithinAuthority(authority, req);
  const secret = req.key.slice();
  req.key.fill(0);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.HMAC_KEY,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret,
  });
  return PutHmacKey.encodeResponse({ id });
}
