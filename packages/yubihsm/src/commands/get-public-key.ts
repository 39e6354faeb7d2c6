// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-public-key.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.GET_PUBLIC_KEY;

export interface Request {
  keyId: number;
  /** Firmware ≥ 2.4 only: object type to read (wrap-key publics); omitted = asymmetric key. */
  objectType?: number;
}

export interface Response {
  algorithm: number;
  /** EC: `X || Y` without the 0x04 prefix; Ed25519: the 32-byte point; RSA: the modulus. */
  publicKey: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  const w = new WireWriter().u16(req.keyId, 'keyId');
  if (req.objectType !== undefined) w.u8(req.objectType, 'objectType');
  return w.finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const keyId = r.u16();
  if (r.remaining === 0) return { keyId };
  const objectType = r.u8();
  r.end();
  return { keyId, objectType };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().u8(res.algorithm, 'algorithm').bytes(res.publicKey, 'publicKey').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  return { algorithm: r.u8(), publicKey: r.rest() };
}
