// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-decrypt-oaep.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Decrypt_Oaep.html)
import { Command } from '../codes';
import { WireError, WireReader, WireWriter } from '../wire';

export const CODE = Command.DECRYPT_OAEP;

/** RSA moduli the device holds, in bytes (rsa2048/3072/4096). */
export const CIPHERTEXT_LENGTHS: readonly number[] = [256, 384, 512];
/** Label hashes the device takes: SHA-1/256/384/512. Its length names the OAEP hash. */
export const LABEL_HASH_LENGTHS: readonly number[] = [20, 32, 48, 64];

export interface Request {
  keyId: number;
  /** MGF1 hash: Algorithm.RSA_MGF1_SHA1 … RSA_MGF1_SHA512 (32–35); may differ from the OAEP hash. */
  mgf1Algorithm: number;
  ciphertext: Uint8Array;
  /**
   * Hash of the OAEP label (of the empty string when there is none), computed by the host: the
   * device never sees the label itself (python-yubihsm `decrypt_oaep`, libyubihsm `yh_util_decrypt_oaep`).
   */
  labelHash: Uint8Array;
}

export interface Response {
  plaintext: Uint8Array;
}

/** `KeyID(2) || MGF1Algo(1) || ciphertext || Hash(label)`. */
export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter()
    .u16(req.keyId, 'keyId')
    .u8(req.mgf1Algorithm, 'mgf1Algorithm')
    .bytes(req.ciphertext, 'ciphertext')
    .bytes(req.labelHash, 'labelHash')
    .finish();
}

/**
 * The wire has no length field between ciphertext and label hash. Every sum of a modulus length
 * and a hash length above is distinct, so the total length alone splits them; any other total is
 * WRONG_LENGTH.
 */
export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const keyId = r.u16();
  const mgf1Algorithm = r.u8();
  const body = r.remaining;
  const ciphertextLength = CIPHERTEXT_LENGTHS.find((c) => LABEL_HASH_LENGTHS.includes(body - c));
  if (ciphertextLength === undefined) throw new WireError(`${body} bytes are no modulus-length ciphertext followed by a label hash`);
  return { keyId, mgf1Algorithm, ciphertext: r.bytes(ciphertextLength), labelHash: r.rest() };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.plaintext, 'plaintext').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { plaintext: new WireReader(payload).rest() };
}
