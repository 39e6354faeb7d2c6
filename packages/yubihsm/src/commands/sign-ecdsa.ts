// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-ecdsa.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

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
