// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-option.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.GET_OPTION;

export interface Request {
  tag: number;
}

/** The option's raw value; SetOption.decodePairs reads the list-valued ones. */
export interface Response {
  value: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u8(req.tag, 'tag').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { tag: r.u8() };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.value, 'value').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { value: new WireReader(payload).rest() };
}
