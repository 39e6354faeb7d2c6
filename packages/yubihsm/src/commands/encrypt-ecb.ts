// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-encrypt-ecb.html
import { Command } from '../codes';
import { type DataResponse, type KeyDataRequest, decodeData, decodeKeyData, encodeData, encodeKeyData } from './key-data';

export const CODE = Command.ENCRYPT_ECB;

/** AES-ECB (encrypt) with a symmetric key (firmware ≥ 2.3.1): whole 16-byte blocks, no padding. */
export type Request = KeyDataRequest;
export type Response = DataResponse;

export const encodeRequest: (req: Request) => Uint8Array = encodeKeyData;
export const decodeRequest: (payload: Uint8Array) => Request = decodeKeyData;
export const encodeResponse: (res: Response) => Uint8Array = encodeData;
export const decodeResponse: (payload: Uint8Array) => Response = decodeData;
