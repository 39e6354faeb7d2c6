// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-opaque.html
// (formerly https://developers.yubico.com/YubiHSM2/Commands/Put_Opaque.html)
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.PUT_OPAQUE;

/** Algorithm OPAQUE_DATA, or OPAQUE_X509_CERTIFICATE for a DER (optionally gzipped) certificate. */
export interface Request extends ObjectHeader {
  data: Uint8Array;
}

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeObjectHeader(new WireWriter(), req).bytes(req.data, 'data').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  return { ...readObjectHeader(r), data: r.rest() };
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
