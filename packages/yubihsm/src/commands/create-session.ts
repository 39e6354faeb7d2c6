// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-create-session.html
import { Command } from '../codes';
import { CHALLENGE_LENGTH, CRYPTOGRAM_LENGTH } from '../scp03/cryptogram';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.CREATE_SESSION;

/** Sent in the clear. Only the symmetric (SCP03) variant is modelled. */
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
  return new WireWriter()
    .u16(req.authKeyId, 'authKeyId')
    .fixedBytes(req.hostChallenge, CHALLENGE_LENGTH, 'hostChallenge')
    .finish();
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
