// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-pkcs1.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Sign_Pkcs1.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.SIGN_PKCS1;

export interface Request {
  keyId: number;
  /**
   * A bare SHA-1/256/384/512 hash (20/32/48/64 bytes), to which the device prepends the hash's
   * DigestInfo, or `DigestInfo ‖ hash` already encoded (libyubihsm `yh_util_sign_pkcs1v1_5`).
   * python-yubihsm's `sign_pkcs1v1_5` sends the bare hash.
   */
  digest: Uint8Array;
}

export interface Response {
  /** RSASSA-PKCS1-v1_5 signature, as long as the modulus (RFC 8017 §8.2.1). */
  signature: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.digest, 'digest').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { keyId: r.u16(), digest: r.rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.signature, 'signature').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { signature: new WireReader(payload).rest() };
}
