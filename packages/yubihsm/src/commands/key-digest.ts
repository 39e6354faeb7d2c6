/**
 * The layout SIGN_ECDSA and SIGN_PKCS1 share: `KeyID(2) || digest` in, the raw signature out.
 * Each command file keeps its own code, types and documentation and delegates the bytes here.
 */
import { WireReader, WireWriter } from '../wire';

export interface KeyDigestRequest {
  keyId: number;
  digest: Uint8Array;
}

export interface SignatureResponse {
  signature: Uint8Array;
}

export function encodeKeyDigest(req: KeyDigestRequest): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').bytes(req.digest, 'digest').finish();
}

export function decodeKeyDigest(payload: Uint8Array): KeyDigestRequest {
  const r = new WireReader(payload);
  return { keyId: r.u16(), digest: r.rest() };
}

export function encodeSignature(res: SignatureResponse): Uint8Array {
  return new WireWriter().bytes(res.signature, 'signature').finish();
}

export function decodeSignature(payload: Uint8Array): SignatureResponse {
  return { signature: new WireReader(payload).rest() };
}
