// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-session-message.html
import { Command } from '../codes';
import { MAC_LENGTH } from '../scp03/mac';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.SESSION_MESSAGE;

/**
 * The outer envelope of every command sent inside a session, and of its response (`0x85`):
 * `SID || ciphertext || MAC`. `Scp03Channel` fills it in; the MAC covers `SID || ciphertext`.
 */
export interface Request {
  sessionId: number;
  ciphertext: Uint8Array;
  mac: Uint8Array;
}

export type Response = Request;

/** `SID || ciphertext`: the part of the payload the MAC covers. */
export function encodeMacedBody(msg: Omit<Request, 'mac'>): Uint8Array {
  return new WireWriter().u8(msg.sessionId, 'sessionId').bytes(msg.ciphertext, 'ciphertext').finish();
}

export function encodeRequest(msg: Request): Uint8Array {
  return new WireWriter().bytes(encodeMacedBody(msg)).fixedBytes(msg.mac, MAC_LENGTH, 'mac').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const sessionId = r.u8();
  const ciphertext = r.restExcept(MAC_LENGTH);
  const mac = r.bytes(MAC_LENGTH);
  r.end();
  return { sessionId, ciphertext, mac };
}

export const encodeResponse = encodeRequest;
export const decodeResponse = decodeRequest;
