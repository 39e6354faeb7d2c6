// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-generate-asymmetric-key.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.GENERATE_ASYMMETRIC_KEY;

/** The algorithm is the key type: EC_P256, EC_P384, EC_K256, EC_ED25519, RSA_2048, … */
export type Request = ObjectHeader;
export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeObjectHeader(new WireWriter(), req).finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = readObjectHeader(r);
  r.end();
  return req;
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
