// PUT_WRAP_KEY: an AES-CCM wrap key, or (firmware 2.4) an RSA private key for importing under RSA wrap.
import { Capability, DeviceError, DeviceErrorCode, GetObjectInfo, ObjectType, PutWrapKey } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { importSecret, keySpec } from '../key-crypto';
import { CCM_WRAP_KEY_LENGTH } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function putWrapKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = PutWrapKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.PUT_WRAP_KEY);
  checkNewObjectHeader(req);
  const secret = wrapKeySecret(req.algorithm, req.key);
  req.key.fill(0);
  requireWithinAuthority(authority, req);
  const id = storeNewObject(ctx, req, {
    type: ObjectType.WRAP_KEY,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret,
    delegatedCapabilities: req.delegatedCapabilities,
  });
  return PutWrapKey.encodeResponse({ id });
}

/** AES: the key itself, of the algorithm's length. RSA: `p || q`, each half the modulus, as PUT_ASYMMETRIC_KEY takes it. */
function wrapKeySecret(algorithm: number, key: Uint8Array): Uint8Array {
  const length = CCM_WRAP_KEY_LENGTH.get(algorithm);
  if (length !== undefined) {
    if (key.length !== length) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
    return key.slice();
  }
  const spec = keySpec(algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return importSecret(spec, key);
}
