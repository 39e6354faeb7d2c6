// WRAP_DATA: AES-CCM under a wrap key, with the leading nul byte the device adds and UNWRAP_DATA checks.
import { Capability, DeviceError, DeviceErrorCode, WrapData } from '@kmsgate/yubihsm';
import { ccmSeal } from '../aes-ccm';
import type { SessionContext } from '../handler';
import { MAX_SESSION_RESPONSE_DATA } from '../session-limits';
import { ccmWrapKey, DATA_CAPABILITY_ERROR } from '../wrap-keys';

/** The longest data whose answer still fits one message: 3086 bytes with the 3136-byte buffer. */
export const MAX_WRAP_DATA = MAX_SESSION_RESPONSE_DATA - WrapData.WRAP_DATA_OVERHEAD;

export function wrapData(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = WrapData.decodeRequest(payload);
  if (req.data.length === 0 || req.data.length > MAX_WRAP_DATA) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  const key = ccmWrapKey(ctx, req.keyId, Capability.WRAP_DATA, DATA_CAPABILITY_ERROR);
  const plaintext = new Uint8Array(1 + req.data.length);
  plaintext.set(req.data, 1);
  try {
    return WrapData.encodeResponse(ccmSeal(key.secret, plaintext));
  } finally {
    plaintext.fill(0);
    req.data.fill(0);
  }
}
