/** A response that is just the object ID (every PUT_* and GENERATE_* command). */
import { WireReader, WireWriter } from '../wire';

export interface ObjectIdResponse {
  id: number;
}

export function encodeObjectId(res: ObjectIdResponse): Uint8Array {
  return new WireWriter().u16(res.id, 'id').finish();
}

export function decodeObjectId(payload: Uint8Array): ObjectIdResponse {
  const r = new WireReader(payload);
  const id = r.u16();
  r.end();
  return { id };
}
