// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-pkcs1.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Sign_Pkcs1.html)
import { Command } from '../codes';
import { decodeKeyDigest, decodeSignature, encodeKeyDigest, encodeSignature } from './key-digest';

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

export const encodeRequest: (req: Request) => Uint8Array = encodeKeyDigest;
export const decodeRequest: (payload: Uint8Array) => Request = decodeKeyDigest;
export const encodeResponse: (res: Response) => Uint8Array = encodeSignature;
export const decodeResponse: (payload: Uint8Array) => Response = decodeSignature;
