// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-set-log-index.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.SET_LOG_INDEX;

/** The number of the last entry the caller has read; it and everything before it are released. */
export interface Request {
  index: number;
}

export type Response = Empty;

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.index, 'index').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { index: r.u16() };
  r.end();
  return req;
}

export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;
