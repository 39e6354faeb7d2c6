// UNWRAP_DATA: the inverse of WRAP_DATA. A blob that does not authenticate, or whose plaintext
// does not start with WRAP_DATA's nul byte (an EXPORT_WRAPPED blob, say), is INVALID_DATA.
import { Capability, DeviceError, DeviceErrorCode, UnwrapData } from '@kmsgate/yubihsm';
import { ccmOpen } from '../aes-ccm';
import type { SessionContext } from '../handler';
import { ccmWrapKey, DATA_CAPABILITY_ERROR } from '../wrap-keys';

export function unwrapData(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = UnwrapData.decodeRequest(payload);
  const key = ccmWrapKey(ctx, req.keyId, Capability.UNWRAP_DATA, DATA_CAPABILITY_ERROR);
  const plaintext = ccmOpen(key.secret, req);
  try {
    if (plaintext.length < 2 || plaintext[0] !== 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    return UnwrapData.encodeResponse({ data: plaintext.subarray(1) });
  } finally {
    plaintext.fill(0);
  }
}
