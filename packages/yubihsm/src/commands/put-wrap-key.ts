// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-wrap-key.html
import { Command } from '../codes';
import { type DelegatedKeyRequest, decodeDelegatedKey, encodeDelegatedKey } from './delegated-key';
import { type ObjectIdResponse, decodeObjectId, encodeObjectId } from './object-id';

export const CODE = Command.PUT_WRAP_KEY;

/**
 * AES128/192/256_CCM_WRAP with a 16/24/32-byte key, or (firmware ≥ 2.4) RSA_2048/3072/4096 with
 * `p || q` (each half the modulus size), a private key used only to import under RSA wrap.
 */
export type Request = DelegatedKeyRequest;
export type Response = ObjectIdResponse;

export const encodeRequest: (req: Request) => Uint8Array = encodeDelegatedKey;
export const decodeRequest: (payload: Uint8Array) => Request = decodeDelegatedKey;
export const encodeResponse = encodeObjectId;
export const decodeResponse = decodeObjectId;
