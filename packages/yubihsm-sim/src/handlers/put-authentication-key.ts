// PUT_AUTHENTICATION_KEY (symmetric keys only; the EC P-256 variant is not simulated).
import { Algorithm, Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutAuthenticationKey } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import { authKeySecret } from '../auth-keys';
import type { SessionContext } from '../handler';
import { padLabel } from '../object-store';
import { checkNewObjectHeader } from './new-object';

export function putAuthenticationKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutAuthenticationKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_AUTHENTICATION_KEY);
  checkNewObjectHeader(req);
  if (req.algorithm !== Algorithm.AES128_YUBICO_AUTHENTICATION) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const stored = ctx.device.mutate(() =>
    ctx.device.store.insert({
      id: req.id,
      type: ObjectType.AUTHENTICATION_KEY,
      algorithm: req.algorithm,
      label: padLabel(req.label),
      domains: req.domains,
      capabilities: req.capabilities,
      delegatedCapabilities: req.delegatedCapabilities,
      origin: GetObjectInfo.Origin.IMPORTED,
      secret: authKeySecret(req.encKey, req.macKey),
    }),
  );
  req.encKey.fill(0);
  req.macKey.fill(0);
  return PutAuthenticationKey.encodeResponse({ id: stored.id });
}
