/**
 * The layout PUT_WRAP_KEY and PUT_PUBLIC_WRAP_KEY share: the object header, the key's delegated
 * capabilities, then the key material (`H || DelegatedCaps(8) || key`). Each command file keeps its
 * own code and documentation and delegates the bytes here.
 */
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';

export interface DelegatedKeyRequest extends ObjectHeader {
  /** What objects imported or exported under this key may carry. */
  delegatedCapabilities: bigint;
  key: Uint8Array;
}

export function encodeDelegatedKey(req: DelegatedKeyRequest): Uint8Array {
  return writeObjectHeader(new WireWriter(), req).u64(req.delegatedCapabilities, 'delegatedCapabilities').bytes(req.key, 'key').finish();
}

export function decodeDelegatedKey(payload: Uint8Array): DelegatedKeyRequest {
  const r = new WireReader(payload);
  return { ...readObjectHeader(r), delegatedCapabilities: r.u64(), key: r.rest() };
}
