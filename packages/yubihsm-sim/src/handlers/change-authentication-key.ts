// CHANGE_AUTHENTICATION_KEY: a session may replace the keys of its own authentication key, and
// only those (python-yubihsm test_auth: another key's id is INVALID_ID). Id, label, domains,
// capabilities and sequence stay; the open session keeps its session keys.
import { Capability, ChangeAuthenticationKey, DeviceError, DeviceErrorCode, ObjectType, zeroAuthKeyMaterial } from '@kmsgate/yubihsm';
import { findVisible, requireObjectCapability } from '../access';
import { authKeySecretOf } from '../auth-keys';
import type { SessionContext } from '../handler';

export function changeAuthenticationKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = ChangeAuthenticationKey.decodeRequest(payload);
  try {
    const { authority } = ctx.session;
    if (req.id !== authority.authKeyId) throw new DeviceError(DeviceErrorCode.INVALID_ID);
    const key = findVisible(ctx.device.store, authority, ObjectType.AUTHENTICATION_KEY, req.id);
    requireObjectCapability(authority, key, Capability.CHANGE_AUTHENTICATION_KEY);
    if (req.algorithm !== key.algorithm) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    const secret = authKeySecretOf(req);
    ctx.device.mutate(() => ctx.device.store.replace({ ...key, secret }));
    return ChangeAuthenticationKey.encodeResponse({ id: key.id });
  } finally {
    zeroAuthKeyMaterial(req);
  }
}
