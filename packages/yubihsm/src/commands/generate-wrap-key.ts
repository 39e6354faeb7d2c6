// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-generate-wrap-key.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.GENERATE_WRAP_KEY;

/** `H || DelegatedCaps(8)`; the algorithm picks the key (AES-CCM 128/192/256, or RSA on firmware ≥ 2.4). */
export interface Request extends ObjectHeader {
  delegatedCapabilities: bigint;
}

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeObjectHeader(new WireWriter(), req).u64(req.delegatedCapabilities, 'delegatedCapabilities').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { ...readObjectHeader(r), delegatedCapabilities: r.u64() };
  r.end();
  return req;
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
