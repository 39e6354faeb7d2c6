// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-authenticate-session.html
import { Command } from '../codes';
import { CRYPTOGRAM_LENGTH } from '../scp03/cryptogram';
import { MAC_LENGTH } from '../scp03/mac';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.AUTHENTICATE_SESSION;

/** Sent in the clear but MACed; `Scp03Channel` computes the cryptogram and MAC. */
export interface Request {
  sessionId: number;
  hostCryptogram: Uint8Array;
  mac: Uint8Array;
}

export type Response = Empty;

/** `SID || HostCryptogram`: the part of the payload the MAC covers. */
export function encodeMacedBody(req: Omit<Request, 'mac'>): Uint8Array {
  return new WireWriter().u8(req.sessionId, 'sessionId').fixedBytes(req.hostCryptogram, CRYPTOGRAM_LENGTH, 'hostCryptogram').finish();
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().bytes(encodeMacedBody(req)).fixedBytes(req.mac, MAC_LENGTH, 'mac').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { sessionId: r.u8(), hostCryptogram: r.bytes(CRYPTOGRAM_LENGTH), mac: r.bytes(MAC_LENGTH) };
  r.end();
  return req;
}

export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;
