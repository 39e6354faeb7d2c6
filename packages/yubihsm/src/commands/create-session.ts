// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-create-session.html
import { Command } from '../codes';
import { EC_P256_POINT_LENGTH, RECEIPT_LENGTH } from '../scp03/asymmetric';
import { CHALLENGE_LENGTH, CRYPTOGRAM_LENGTH } from '../scp03/cryptogram';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.CREATE_SESSION;

/** Sent in the clear. Symmetric (SCP03) authentication; the asymmetric variant is below. */
export interface Request {
  authKeyId: number;
  hostChallenge: Uint8Array;
}

export interface Response {
  sessionId: number;
  cardChallenge: Uint8Array;
  cardCryptogram: Uint8Array;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.authKeyId, 'authKeyId').fixedBytes(req.hostChallenge, CHALLENGE_LENGTH, 'hostChallenge').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { authKeyId: r.u16(), hostChallenge: r.bytes(CHALLENGE_LENGTH) };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter()
    .u8(res.sessionId, 'sessionId')
    .fixedBytes(res.cardChallenge, CHALLENGE_LENGTH, 'cardChallenge')
    .fixedBytes(res.cardCryptogram, CRYPTOGRAM_LENGTH, 'cardCryptogram')
    .finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const res = { sessionId: r.u8(), cardChallenge: r.bytes(CHALLENGE_LENGTH), cardCryptogram: r.bytes(CRYPTOGRAM_LENGTH) };
  r.end();
  return res;
}

/**
 * Asymmetric authentication (firmware 2.3+, python-yubihsm `AsymmetricAuth`): the host sends its
 * ephemeral P-256 public key instead of a challenge, and the device answers with its own and a
 * receipt. The two are told apart by length.
 */
export interface AsymmetricRequest {
  authKeyId: number;
  /** EPK.OCE, uncompressed `04 || X || Y`. */
  hostEphemeralKey: Uint8Array;
}

export interface AsymmetricResponse {
  sessionId: number;
  /** EPK.SD, uncompressed. */
  cardEphemeralKey: Uint8Array;
  receipt: Uint8Array;
}

export const ASYMMETRIC_REQUEST_LENGTH = 2 + EC_P256_POINT_LENGTH;

export function encodeAsymmetricRequest(req: AsymmetricRequest): Uint8Array {
  return new WireWriter().u16(req.authKeyId, 'authKeyId').fixedBytes(req.hostEphemeralKey, EC_P256_POINT_LENGTH, 'hostEphemeralKey').finish();
}

export function decodeAsymmetricRequest(payload: Uint8Array): AsymmetricRequest {
  const r = new WireReader(payload);
  const req = { authKeyId: r.u16(), hostEphemeralKey: r.bytes(EC_P256_POINT_LENGTH) };
  r.end();
  return req;
}

export function encodeAsymmetricResponse(res: AsymmetricResponse): Uint8Array {
  return new WireWriter()
    .u8(res.sessionId, 'sessionId')
    .fixedBytes(res.cardEphemeralKey, EC_P256_POINT_LENGTH, 'cardEphemeralKey')
    .fixedBytes(res.receipt, RECEIPT_LENGTH, 'receipt')
    .finish();
}

export function decodeAsymmetricResponse(payload: Uint8Array): AsymmetricResponse {
  const r = new WireReader(payload);
  const res = { sessionId: r.u8(), cardEphemeralKey: r.bytes(EC_P256_POINT_LENGTH), receipt: r.bytes(RECEIPT_LENGTH) };
  r.end();
  return res;
}
