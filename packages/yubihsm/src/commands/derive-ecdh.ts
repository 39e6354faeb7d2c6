// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-derive-ecdh.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Derive_Ecdh.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.DERIVE_ECDH;

export interface Request {
  keyId: number;
  /** The peer's public key as an uncompressed point `04 || X || Y` on the key's curve. */
  publicKey: Uint8Array;
}

export interface Response {
  /** The X coordinate of the shared point, at the curve size (SP 800-56A shared secret Z). */
  sharedSecret: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.publicKey, 'publicKey').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { keyId: r.u16(), publicKey: r.rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.sharedSecret, 'sharedSecret').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { sharedSecret: new WireReader(payload).rest() };
}
