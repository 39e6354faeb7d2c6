// DERIVE_ECDH: the shared X coordinate with a peer's public key on the key's curve.
import { Capability, DeriveEcdh, DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { deriveEcdh as derive, keySpec } from '../key-crypto';

export function deriveEcdh(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = DeriveEcdh.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.DERIVE_ECDH);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'ecdsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.DERIVE_ECDH);
  return DeriveEcdh.encodeResponse({ sharedSecret: derive(spec, key.secret, req.publicKey) });
}
