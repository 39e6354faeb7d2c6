// DECRYPT_PKCS1: RSAES-PKCS1-v1_5 decryption.
import { Capability, DecryptPkcs1, DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { decryptPkcs1 as decrypt, keySpec } from '../key-crypto';

export function decryptPkcs1(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = DecryptPkcs1.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.DECRYPT_PKCS);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.DECRYPT_PKCS);
  return DecryptPkcs1.encodeResponse({ plaintext: decrypt(spec, key.secret, req.ciphertext) });
}
