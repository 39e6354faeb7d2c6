// PUT_OPAQUE: stores data (or an X.509 certificate) the device hands back unchanged.
import { Algorithm, Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutOpaque } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { checkNewObjectHeader, storeNewObject } from './new-object';

const OPAQUE_ALGORITHMS: ReadonlySet<number> = new Set([Algorithm.OPAQUE_DATA, Algorithm.OPAQUE_X509_CERTIFICATE]);

/**
 * No per-object size limit is documented beyond what one message carries, so none is imposed here;
 * storage capacity still bounds how many objects fit. The device does not parse certificates
 * (python-yubihsm stores gzipped ones under the certificate algorithm), so neither do we.
 */
export function putOpaque(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutOpaque.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_OPAQUE);
  checkNewObjectHeader(req);
  if (!OPAQUE_ALGORITHMS.has(req.algorithm)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  if (req.data.length === 0) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  requireWithinAuthority(authority, req);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.OPAQUE,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret: req.data,
  });
  return PutOpaque.encodeResponse({ id });
}
