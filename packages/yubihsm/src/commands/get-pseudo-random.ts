// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-pseudo-random.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.GET_PSEUDO_RANDOM;

export interface Request {
  /** Bytes wanted; the answer must fit in one message, so callers chunk larger requests. */
  length: number;
}

export interface Response {
  bytes: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.length, 'length').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { length: r.u16() };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.bytes, 'bytes').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { bytes: new WireReader(payload).rest() };
}
