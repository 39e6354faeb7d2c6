// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-ecdsa.html
import { Command } from '../codes';
import { decodeKeyDigest, decodeSignature, encodeKeyDigest, encodeSignature } from './key-digest';

export const CODE = Command.SIGN_ECDSA;

export interface Request {
  keyId: number;
  /** The hash to sign; the device left-pads or truncates it to the curve size. */
  digest: Uint8Array;
}

export interface Response {
  /** DER `SEQUENCE { r INTEGER, s INTEGER }`, as the device produced it (not low-S normalized). */
  signature: Uint8Array;
}

export const encodeRequest: (req: Request) => Uint8Array = encodeKeyDigest;
export const decodeRequest: (payload: Uint8Array) => Request = decodeKeyDigest;
export const encodeResponse: (res: Response) => Uint8Array = encodeSignature;
export const decodeResponse: (payload: Uint8Array) => Response = decodeSignature;
