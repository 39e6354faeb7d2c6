// SIGN_PKCS1: RSASSA-PKCS1-v1_5 over a hash (or an encoded DigestInfo ‖ hash).
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignPkcs1 } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { keySpec, maxPkcs1Input, signPkcs1 as sign } from '../key-crypto';

export function signPkcs1(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignPkcs1.decodeRequest(payload);
  const { authority } = ctx.session;
  if (req.digest.length === 0) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  requireCapability(authority, Capability.SIGN_PKCS);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.SIGN_PKCS);
  // Too long to pad for this modulus (only an already encoded input can be; a bare hash always fits).
  if (req.digest.length > maxPkcs1Input(spec)) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  return SignPkcs1.encodeResponse({ signature: sign(key.secret, req.digest) });
}
