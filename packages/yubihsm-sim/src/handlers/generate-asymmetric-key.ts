// GENERATE_ASYMMETRIC_KEY.
import { Capability, DeviceError, DeviceErrorCode, GenerateAsymmetricKey, GetObjectInfo, ObjectType } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { generateSecret, keySpec } from '../key-crypto';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function generateAsymmetricKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GenerateAsymmetricKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.GENERATE_ASYMMETRIC_KEY);
  checkNewObjectHeader(req);
  const spec = keySpec(req.algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.ASYMMETRIC_KEY,
    origin: GetObjectInfo.Origin.GENERATED,
    secret: generateSecret(spec),
  });
  return GenerateAsymmetricKey.encodeResponse({ id });
}
