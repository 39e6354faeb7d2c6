// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-object-info.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';

export const CODE = Command.GET_OBJECT_INFO;

export interface Request {
  id: number;
  type: number;
}

/** Origin bits of an object (python `ORIGIN`). */
export const Origin = {
  GENERATED: 0x01,
  IMPORTED: 0x02,
  /** Set together with GENERATED or IMPORTED when the object came in through IMPORT_WRAPPED. */
  IMPORTED_WRAPPED: 0x10,
} as const;

export interface Response {
  capabilities: bigint;
  id: number;
  /** Internal stored length (e.g. 96 for an ecp256 key). */
  length: number;
  domains: number;
  type: number;
  algorithm: number;
  /** Counts writes of this (type, id); 8 bits, wraps. */
  sequence: number;
  origin: number;
  label: Uint8Array;
  delegatedCapabilities: bigint;
}

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u16(req.id, 'id').u8(req.type, 'type').finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { id: r.u16(), type: r.u8() };
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter()
    .u64(res.capabilities, 'capabilities')
    .u16(res.id, 'id')
    .u16(res.length, 'length')
    .u16(res.domains, 'domains')
    .u8(res.type, 'type')
    .u8(res.algorithm, 'algorithm')
    .u8(res.sequence, 'sequence')
    .u8(res.origin, 'origin')
    .label(res.label, 'label')
    .u64(res.delegatedCapabilities, 'delegatedCapabilities')
    .finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const res = {
    capabilities: r.u64(),
    id: r.u16(),
    length: r.u16(),
    domains: r.u16(),
    type: r.u8(),
    algorithm: r.u8(),
    sequence: r.u8(),
    origin: r.u8(),
    label: r.label(),
    delegatedCapabilities: r.u64(),
  };
  r.end();
  return res;
}
