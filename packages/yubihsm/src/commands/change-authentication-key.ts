// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-change-authentication-key.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type AuthKeyMaterial, readAuthKeyMaterial, writeAuthKeyMaterial } from './auth-key-material';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.CHANGE_AUTHENTICATION_KEY;

/**
 * Replaces the keys of the authentication key the session was opened with (and only that one);
 * its id, label, domains and capabilities stay. The algorithm must be the key's own.
 */
export type Request = { id: number; algorithm: number } & AuthKeyMaterial;

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeAuthKeyMaterial(new WireWriter().u16(req.id, 'id').u8(req.algorithm, 'algorithm'), req).finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const id = r.u16();
  const algorithm = r.u8();
  const req = { id, algorithm, ...readAuthKeyMaterial(r, algorithm) };
  r.end();
  return req;
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
