// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-echo.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.ECHO;

export interface Request {
  data: Uint8Array;
}
/** The device returns the request data unchanged. */
export interface Response {
  data: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().bytes(req.data, 'data').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  return { data: new WireReader(payload).rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.data, 'data').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { data: new WireReader(payload).rest() };
}
