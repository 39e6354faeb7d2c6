// PUT_SYMMETRIC_KEY (firmware 2.3.1+): an AES-128/192/256 key for ENCRYPT/DECRYPT_ECB/CBC.
import { Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutSymmetricKey } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { AES_KEY_LENGTH } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function putSymmetricKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutSymmetricKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_SYMMETRIC_KEY);
  checkNewObjectHeader(req);
  const length = AES_KEY_LENGTH.get(req.algorithm);
  if (length === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  if (req.key.length !== length) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  requireWithinAuthority(authority, req);
  const secret = req.key.slice();
  req.key.fill(0);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.SYMMETRIC_KEY,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret,
  });
  return PutSymmetricKey.encodeResponse({ id });
}
