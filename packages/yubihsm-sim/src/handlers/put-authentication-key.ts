// PUT_AUTHENTICATION_KEY: symmetric (two AES-128 keys) or asymmetric (a P-256 public key, firmware 2.3+).
import { Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutAuthenticationKey, zeroAuthKeyMaterial } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import { AUTH_KEY_ALGORITHMS, authKeySecretOf } from '../auth-keys';
import type { SessionContext } from '../handler';
import { padLabel } from '../object-store';
import { checkNewObjectHeader } from './new-object';

export function putAuthenticationKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutAuthenticationKey.decodeRequest(payload);
  try {
    return PutAuthenticationKey.encodeResponse({ id: store(ctx, req) });
  } finally {
    zeroAuthKeyMaterial(req);
  }
}

function store(ctx: SessionContext, req: PutAuthenticationKey.Request): number {
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_AUTHENTICATION_KEY);
  checkNewObjectHeader(req);
  if (!AUTH_KEY_ALGORITHMS.has(req.algorithm)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireWithinAuthority(authority, req);
  const secret = authKeySecretOf(req);
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
      secret,
    }),
  );
  return stored.id;
}
