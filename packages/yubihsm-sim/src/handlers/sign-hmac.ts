// SIGN_HMAC.
import { Capability, SignHmac } from '@kmsgate/yubihsm';
import type { SessionContext } from '../handler';
import { hmac, hmacKey } from '../hmac-keys';

export function signHmac(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignHmac.decodeRequest(payload);
  const { key, spec } = hmacKey(ctx, req.keyId, Capability.SIGN_HMAC);
  return SignHmac.encodeResponse({ data: hmac(spec, key.secret, req.data) });
}
