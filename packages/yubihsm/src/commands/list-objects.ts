// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-list-objects.html
import { Command } from '../codes';
import { DeviceErrorCode } from '../errors';
import { WireError, WireReader, WireWriter } from '../wire';

export const CODE = Command.LIST_OBJECTS;

/** Filter tags (python `LIST_FILTER`). Each is followed by a fixed-size value. */
export const ListFilterTag = {
  ID: 0x01,
  TYPE: 0x02,
  DOMAINS: 0x03,
  CAPABILITIES: 0x04,
  ALGORITHM: 0x05,
  LABEL: 0x06,
} as const;

/**
 * Any subset of filters. The device matches domains and capabilities when any bit is shared,
 * the other fields exactly.
 */
export interface Request {
  id?: number;
  type?: number;
  domains?: number;
  capabilities?: bigint;
  algorithm?: number;
  /** Raw label bytes (at most 40); compared with the zero-padded stored label. */
  label?: Uint8Array;
}

export interface ListedObject {
  id: number;
  type: number;
  sequence: number;
}

export interface Response {
  objects: ListedObject[];
}

/** Filters are written in tag order, as python-yubihsm does. */
export function encodeRequest(req: Request): Uint8Array {
  const w = new WireWriter();
  if (req.id !== undefined) w.u8(ListFilterTag.ID).u16(req.id, 'id');
  if (req.type !== undefined) w.u8(ListFilterTag.TYPE).u8(req.type, 'type');
  if (req.domains !== undefined) w.u8(ListFilterTag.DOMAINS).u16(req.domains, 'domains');
  if (req.capabilities !== undefined) w.u8(ListFilterTag.CAPABILITIES).u64(req.capabilities, 'capabilities');
  if (req.algorithm !== undefined) w.u8(ListFilterTag.ALGORITHM).u8(req.algorithm, 'algorithm');
  if (req.label !== undefined) w.u8(ListFilterTag.LABEL).label(req.label, 'label');
  return w.finish();
}

/** Accepts filters in any order; an unknown or repeated tag is INVALID_DATA. */
export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req: Request = {};
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const tag = r.u8();
    if (seen.has(tag)) throw new WireError(`list filter tag 0x${tag.toString(16)} repeated`, DeviceErrorCode.INVALID_DATA);
    seen.add(tag);
    switch (tag) {
      case ListFilterTag.ID:
        req.id = r.u16();
        break;
      case ListFilterTag.TYPE:
        req.type = r.u8();
        break;
      case ListFilterTag.DOMAINS:
        req.domains = r.u16();
        break;
      case ListFilterTag.CAPABILITIES:
        req.capabilities = r.u64();
        break;
      case ListFilterTag.ALGORITHM:
        req.algorithm = r.u8();
        break;
      case ListFilterTag.LABEL:
        req.label = r.label();
        break;
      default:
        throw new WireError(`unknown list filter tag 0x${tag.toString(16)}`, DeviceErrorCode.INVALID_DATA);
    }
  }
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  const w = new WireWriter();
  for (const o of res.objects) w.u16(o.id, 'id').u8(o.type, 'type').u8(o.sequence, 'sequence');
  return w.finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const objects: ListedObject[] = [];
  while (r.remaining > 0) objects.push({ id: r.u16(), type: r.u8(), sequence: r.u8() });
  return { objects };
}
