// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-pss.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Sign_Pss.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.SIGN_PSS;

export interface Request {
  keyId: number;
  /** Hash of MGF1: Algorithm.RSA_MGF1_SHA1 … RSA_MGF1_SHA512 (32–35). */
  mgf1Algorithm: number;
  /** Salt length in bytes (u16). */
  saltLength: number;
  /** The message hash (20/32/48/64 bytes); its length selects the hash the device uses in EMSA-PSS. */
  digest: Uint8Array;
}

export interface Response {
  /** RSASSA-PSS signature, as long as the modulus (RFC 8017 §8.1.1). */
  signature: Uint8Array;
}

/** `KeyID(2) ‖ MGF1Algo(1) ‖ SaltLen(2) ‖ hash`, as python-yubihsm packs it (`"!HBH"`). */
export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').u8(req.mgf1Algorithm, 'mgf1Algorithm').u16(req.saltLength, 'saltLength').bytes(req.digest, 'digest').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { keyId: r.u16(), mgf1Algorithm: r.u8(), saltLength: r.u16(), digest: r.rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.signature, 'signature').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { signature: new WireReader(payload).rest() };
}
