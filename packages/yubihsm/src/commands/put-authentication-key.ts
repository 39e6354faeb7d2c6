// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-authentication-key.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type AuthKeyMaterial, readAuthKeyMaterial, writeAuthKeyMaterial } from './auth-key-material';
import { type ObjectHeader, readObjectHeader, writeObjectHeader } from './object-header';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.PUT_AUTHENTICATION_KEY;

/**
 * A symmetric authentication key (algorithm AES128_YUBICO_AUTHENTICATION, K-ENC and K-MAC) or,
 * from firmware 2.3, an asymmetric one (EC_P256_YUBICO_AUTHENTICATION, the host's P-256 public key).
 */
export type Request = ObjectHeader & {
  /** Capabilities this key may give to objects created in its sessions. */
  delegatedCapabilities: bigint;
} & AuthKeyMaterial;

export type Response = ObjectIdResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeAuthKeyMaterial(writeObjectHeader(new WireWriter(), req).u64(req.delegatedCapabilities, 'delegatedCapabilities'), req).finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const header = readObjectHeader(r);
  const req = { ...header, delegatedCapabilities: r.u64(), ...readAuthKeyMaterial(r, header.algorithm) };
  r.end();
  return req;
}

export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
