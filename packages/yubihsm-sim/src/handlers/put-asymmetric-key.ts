// PUT_ASYMMETRIC_KEY: imports a private key in the device's own layout (see the codec).
import { Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutAsymmetricKey } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { importSecret, keySpec } from '../key-crypto';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function putAsymmetricKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutAsymmetricKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_ASYMMETRIC_KEY);
  checkNewObjectHeader(req);
  const spec = keySpec(req.algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const secret = importSecret(spec, req.key);
  req.key.fill(0);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.ASYMMETRIC_KEY,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret,
  });
  return PutAsymmetricKey.encodeResponse({ id });
}
