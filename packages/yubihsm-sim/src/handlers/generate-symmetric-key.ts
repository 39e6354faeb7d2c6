// GENERATE_SYMMETRIC_KEY (firmware 2.3.1+).
import { randomBytes } from 'node:crypto';
import { Capability, DeviceError, DeviceErrorCode, GenerateSymmetricKey, GetObjectInfo, ObjectType } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { AES_KEY_LENGTH } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function generateSymmetricKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GenerateSymmetricKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.GENERATE_SYMMETRIC_KEY);
  checkNewObjectHeader(req);
  const length = AES_KEY_LENGTH.get(req.algorithm);
  if (length === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.SYMMETRIC_KEY,
    origin: GetObjectInfo.Origin.GENERATED,
    secret: new Uint8Array(randomBytes(length)),
  });
  return GenerateSymmetricKey.encodeResponse({ id });
}
