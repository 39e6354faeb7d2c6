// VERIFY_HMAC: answers 1 or 0; a MAC that does not match is an answer, not an error.
import { timingSafeEqual } from 'node:crypto';
import { Capability, VerifyHmac } from '@kmsgate/yubihsm';
import type { SessionContext } from '../handler';
import { hmac, hmacKey } from '../hmac-keys';

export function verifyHmac(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const { keyId } = VerifyHmac.decodeKeyId(payload);
  const { key, spec } = hmacKey(ctx, keyId, Capability.VERIFY_HMAC);
  const req = VerifyHmac.decodeRequest(payload, spec.macLength);
  return VerifyHmac.encodeResponse({ valid: timingSafeEqual(hmac(spec, key.secret, req.data), req.mac) });
}
