// GENERATE_HMAC_KEY. The length of a generated key is undocumented; it is the hash's output
// length here (RFC 2104 §3's recommended minimum, and yubihsm.rs's `hmac::Algorithm::key_len`).
import { randomBytes } from 'node:crypto';
import { Capability, DeviceError, DeviceErrorCode, GenerateHmacKey, GetObjectInfo, ObjectType } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { HMAC_SPECS } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function generateHmacKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GenerateHmacKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.GENERATE_HMAC_KEY);
  checkNewObjectHeader(req);
  const spec = HMAC_SPECS.get(req.algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.HMAC_KEY,
    origin: GetObjectInfo.Origin.GENERATED,
    secret: new Uint8Array(randomBytes(spec.macLength)),
  });
  return GenerateHmacKey.encodeResponse({ id });
}
