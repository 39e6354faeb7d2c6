// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-sign-hmac.html
import { Command } from '../codes';
import { type DataResponse, type KeyDataRequest, decodeData, decodeKeyData, encodeData, encodeKeyData } from './key-data';

export const CODE = Command.SIGN_HMAC;

export type Request = KeyDataRequest;
/** The MAC: 20, 32, 48 or 64 bytes by the key's hash. */
export type Response = DataResponse;

export const encodeRequest: (req: Request) => Uint8Array = encodeKeyData;
export const decodeRequest: (payload: Uint8Array) => Request = decodeKeyData;
export const encodeResponse: (res: Response) => Uint8Array = encodeData;
export const decodeResponse: (payload: Uint8Array) => Response = decodeData;
