// DECRYPT_OAEP: RSAES-OAEP decryption with the host's label hash and MGF1 choice.
import { Capability, DecryptOaep, DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import type { SessionContext } from '../handler';
import { decryptOaep as decrypt, isMgf1Algorithm, keySpec } from '../key-crypto';

export function decryptOaep(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = DecryptOaep.decodeRequest(payload);
  const { authority } = ctx.session;
  if (!isMgf1Algorithm(req.mgf1Algorithm)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireCapability(authority, Capability.DECRYPT_OAEP);
  const key = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const spec = keySpec(key.algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  requireObjectCapability(authority, key, Capability.DECRYPT_OAEP);
  return DecryptOaep.encodeResponse({ plaintext: decrypt(spec, key.secret, req.mgf1Algorithm, req.ciphertext, req.labelHash) });
}
