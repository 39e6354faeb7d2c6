// SIGN_EDDSA: pure Ed25519 over the whole message.
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignEddsa } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { keySpec, signEddsa as sign } from '../key-crypto';

export function signEddsa(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignEddsa.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.SIGN_EDDSA);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  if (keySpec(key.algorithm)?.kind !== 'eddsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.SIGN_EDDSA);
  return SignEddsa.encodeResponse({ signature: sign(key.secret, req.message) });
}
