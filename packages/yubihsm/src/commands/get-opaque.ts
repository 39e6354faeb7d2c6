// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-opaque.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Get_Opaque.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.GET_OPAQUE;

export interface Request {
  /** 0 names the device's own attestation certificate (firmware ≥ 2.2). */
  id: number;
}

export interface Response {
  data: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.id, 'id').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { id: r.u16() };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.data, 'data').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { data: new WireReader(payload).rest() };
}
