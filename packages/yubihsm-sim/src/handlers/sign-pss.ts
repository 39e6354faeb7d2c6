// SIGN_PSS: RSASSA-PSS over a hash, with the caller's MGF1 hash and salt length.
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignPss } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { isHashLength, isMgf1Algorithm, keySpec, maxPssSalt, signPss as sign } from '../key-crypto';

export function signPss(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignPss.decodeRequest(payload);
  const { authority } = ctx.session;
  // libyubihsm's yh_util_sign_pss takes only SHA-1/256/384/512 hashes.
  if (!isHashLength(req.digest.length)) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  if (!isMgf1Algorithm(req.mgf1Algorithm)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireCapability(authority, Capability.SIGN_PSS);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.SIGN_PSS);
  if (req.saltLength > maxPssSalt(spec, req.digest.length)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return SignPss.encodeResponse({ signature: sign(spec, key.secret, req.mgf1Algorithm, req.saltLength, req.digest) });
}
