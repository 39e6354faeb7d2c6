// SIGN_ECDSA.
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignEcdsa } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { keySpec, signEcdsa as sign } from '../key-crypto';

/**
 * Longest digest accepted: P-521's 66 bytes, the most libyubihsm's yh_util_sign_ecdsa sends
 * (it allows 20/28/32/48/64/66). Longer input is cut to the curve size anyway, so refusing it
 * only rejects what no Yubico client produces.
 */
const MAX_DIGEST = 66;

export function signEcdsa(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignEcdsa.decodeRequest(payload);
  const { authority } = ctx.session;
  if (req.digest.length === 0 || req.digest.length > MAX_DIGEST) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  requireCapability(authority, Capability.SIGN_ECDSA);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'ecdsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.SIGN_ECDSA);
  return SignEcdsa.encodeResponse({ signature: sign(spec, key.secret, req.digest) });
}
