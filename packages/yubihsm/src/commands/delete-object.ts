// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-delete-object.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.DELETE_OBJECT;

export interface Request {
  id: number;
  type: number;
}

export type Response = Empty;

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.id, 'id').u8(req.type, 'type').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { id: r.u16(), type: r.u8() };
  r.end();
  return req;
}

export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;
