// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-attestation-certificate.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Sign_Attestation_Certificate.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.SIGN_ATTESTATION_CERTIFICATE;

export interface Request {
  /** The asymmetric key to attest. */
  keyId: number;
  /**
   * The asymmetric key that signs; its certificate is the opaque object with the same ID. 0 is the
   * device's built-in attestation key and certificate.
   */
  attestingKeyId: number;
}

export interface Response {
  /** DER X.509 certificate for the attested key's public key. */
  certificate: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.keyId, 'keyId').u16(req.attestingKeyId, 'attestingKeyId').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { keyId: r.u16(), attestingKeyId: r.u16() };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().bytes(res.certificate, 'certificate').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return { certificate: new WireReader(payload).rest() };
}
