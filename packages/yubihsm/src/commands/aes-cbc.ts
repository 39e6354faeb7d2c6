/**
 * The layout ENCRYPT_CBC and DECRYPT_CBC share: `KeyID(2) || IV(16) || data` in, the data out.
 * Each command file keeps its own code and documentation and delegates the bytes here.
 */
import { WireReader, WireWriter } from '../wire';

export const AES_BLOCK_LENGTH = 16;

export interface CbcRequest {
  keyId: number;
  iv: Uint8Array;
  data: Uint8Array;
}

export function encodeCbc(req: CbcRequest): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').fixedBytes(req.iv, AES_BLOCK_LENGTH, 'iv').bytes(req.data, 'data').finish();
}

export function decodeCbc(payload: Uint8Array): CbcRequest {
  const r = new WireReader(payload);
  return { keyId: r.u16(), iv: r.bytes(AES_BLOCK_LENGTH), data: r.rest() };
}
