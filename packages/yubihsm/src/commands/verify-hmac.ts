// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-verify-hmac.html
import { Command } from '../codes';
import { DeviceErrorCode } from '../errors';
import { WireError, WireReader, WireWriter } from '../wire';

export const CODE = Command.VERIFY_HMAC;

/** `KeyID(2) || MAC || data`. Where the MAC ends is known only from the key's algorithm. */
export interface Request {
  keyId: number;
  mac: Uint8Array;
  data: Uint8Array;
}

export interface Response {
  valid: boolean;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.mac, 'mac').bytes(req.data, 'data').finish();
}

/** The key ID, then everything after it: the reader splits it once it knows the key's MAC length. */
export function decodeKeyId(payload: Uint8Array): { keyId: number; macAndData: Uint8Array } {
  const r = new WireReader(payload);
  return { keyId: r.u16(), macAndData: r.rest() };
}

export function decodeRequest(payload: Uint8Array, macLength: number): Request {
  const { keyId, macAndData } = decodeKeyId(payload);
  if (macAndData.length < macLength) throw new WireError(`VERIFY_HMAC carries ${macAndData.length} bytes, less than the ${macLength}-byte MAC`);
  return { keyId, mac: macAndData.slice(0, macLength), data: macAndData.slice(macLength) };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().u8(res.valid ? 1 : 0, 'valid').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const value = r.u8();
  r.end();
  if (value > 1) throw new WireError(`VERIFY_HMAC answered ${value}, not 0 or 1`, DeviceErrorCode.INVALID_DATA);
  return { valid: value === 1 };
}
