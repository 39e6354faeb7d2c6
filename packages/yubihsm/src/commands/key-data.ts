/**
 * The layout of commands that take `KeyID(2) || data` and answer with bytes only (SIGN_HMAC,
 * ENCRYPT_ECB, DECRYPT_ECB, WRAP_DATA). Each command file keeps its own code, types and
 * documentation and delegates the bytes here.
 */
import { WireReader, WireWriter } from '../wire';

export interface KeyDataRequest {
  keyId: number;
  data: Uint8Array;
}

export interface DataResponse {
  data: Uint8Array;
}

export function encodeKeyData(req: KeyDataRequest): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.data, 'data').finish();
}

export function decodeKeyData(payload: Uint8Array): KeyDataRequest {
  const r = new WireReader(payload);
  return { keyId: r.u16(), data: r.rest() };
}

export function encodeData(res: DataResponse): Uint8Array {
  return new WireWriter().bytes(res.data, 'data').finish();
}

export function decodeData(payload: Uint8Array): DataResponse {
  return { data: new WireReader(payload).rest() };
}
