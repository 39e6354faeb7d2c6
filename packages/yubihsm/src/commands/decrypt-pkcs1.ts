// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-decrypt-pkcs1.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Decrypt_Pkcs1.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.DECRYPT_PKCS1;

export interface Request {
  keyId: number;
  /** RSAES-PKCS1-v1_5 ciphertext, as long as the modulus (256/384/512 bytes). */
  ciphertext: Uint8Array;
}

export interface Response {
  /** The message with the EME-PKCS1-v1_5 padding removed (RFC 8017 §7.2.2). */
  plaintext: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.ciphertext, 'ciphertext').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { keyId: r.u16(), ciphertext: r.rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.plaintext, 'plaintext').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { plaintext: new WireReader(payload).rest() };
}
