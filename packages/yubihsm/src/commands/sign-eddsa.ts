// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-eddsa.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { decodeSignature, encodeSignature } from './key-digest';

export const CODE = Command.SIGN_EDDSA;

export interface Request {
  keyId: number;
  /** The whole message: pure Ed25519, the device hashes it (there is no Ed25519ph). */
  message: Uint8Array;
}

export interface Response {
  /** `R || S`, 64 bytes. */
  signature: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.message, 'message').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { keyId: r.u16(), message: r.rest() };
}

export const encodeResponse: (res: Response) => Uint8Array = encodeSignature;
export const decodeResponse: (payload: Uint8Array) => Response = decodeSignature;
