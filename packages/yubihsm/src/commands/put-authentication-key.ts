// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-authentication-key.html
import { Command } from '../codes';
import { KEY_LENGTH } from '../scp03/kdf';
import { WireReader, WireWriter } from '../wire';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.PUT_AUTHENTICATION_KEY;

/**
 * Symmetric authentication key (algorithm AES128_YUBICO_AUTHENTICATION). The asymmetric variant
 * (EC_P256_YUBICO_AUTHENTICATION with a 64-byte public key) is not modelled.
 */
export interface Request extends ObjectHeader {
  /** Capabilities this key may give to objects created in its sessions. */
  delegatedCapabilities: bigint;
  encKey: Uint8Array;
  macKey: Uint8Array;
}

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeObjectHeader(new WireWriter(), req)
    .u64(req.delegatedCapabilities, 'delegatedCapabilities')
    .fixedBytes(req.encKey, KEY_LENGTH, 'encKey')
    .fixedBytes(req.macKey, KEY_LENGTH, 'macKey')
    .finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req = { ...readObjectHeader(r), delegatedCapabilities: r.u64(), encKey: r.bytes(KEY_LENGTH), macKey: r.bytes(KEY_LENGTH) };
  r.end();
  return req;
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
