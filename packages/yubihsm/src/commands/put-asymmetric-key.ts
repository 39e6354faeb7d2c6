// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-asymmetric-key.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Put_Asymmetric_Key.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.PUT_ASYMMETRIC_KEY;

export interface Request extends ObjectHeader {
  /**
   * The private key, its layout fixed by the algorithm: RSA `p || q` (each half the modulus
   * length), EC the scalar d big-endian at the curve size (28/32/48/64/66 bytes), Ed25519 the
   * 32-byte seed (python-yubihsm `AsymmetricKey.put`, libyubihsm `yh_util_import_*_key`).
   */
  key: Uint8Array;
}

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeObjectHeader(new WireWriter(), req).bytes(req.key, 'key').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { ...readObjectHeader(r), key: r.rest() };
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
