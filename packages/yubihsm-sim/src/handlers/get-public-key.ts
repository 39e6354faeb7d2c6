// GET_PUBLIC_KEY. Needs no capability: any asymmetric key the session can see.
import { DeviceError, DeviceErrorCode, GetPublicKey, ObjectType } from '@kmsgate/yubihsm';
import { findVisible } from '../access';
import type { SessionContext } from '../handler';
import { keySpec, publicKeyOf } from '../key-crypto';

/** Firmware 2.4's optional type byte may also name wrap-key publics; the simulator holds none. */
const PUBLIC_KEY_TYPES: ReadonlySet<number> = new Set([ObjectType.ASYMMETRIC_KEY, ObjectType.WRAP_KEY, ObjectType.PUBLIC_WRAP_KEY]);

export function getPublicKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GetPublicKey.decodeRequest(payload);
  const type = req.objectType ?? ObjectType.ASYMMETRIC_KEY;
  if (!PUBLIC_KEY_TYPES.has(type)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const key = findVisible(ctx.device.store, ctx.session.authority, type, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return GetPublicKey.encodeResponse({ algorithm: key.algorithm, publicKey: publicKeyOf(spec, key.secret) });
}
