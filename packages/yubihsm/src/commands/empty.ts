/** Codec for commands whose request or response payload is empty. */
import { WireReader } from '../wire';

export type Empty = Record<string, never>;

export function encodeEmpty(_value?: Empty): Uint8Array {
  return new Uint8Array(0);
}

export function decodeEmpty(payload: Uint8Array): Empty {
  new WireReader(payload).end();
  return {};
}
