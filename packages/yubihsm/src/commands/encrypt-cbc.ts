// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-encrypt-cbc.html
import { Command } from '../codes';
import { type CbcRequest, decodeCbc, encodeCbc } from './aes-cbc';
import { type DataResponse, decodeData, encodeData } from './key-data';

export const CODE = Command.ENCRYPT_CBC;

/** AES-CBC (encrypt) with a symmetric key (firmware ≥ 2.3.1): whole 16-byte blocks, no padding. */
export type Request = CbcRequest;
export type Response = DataResponse;

export const encodeRequest: (req: Request) => Uint8Array = encodeCbc;
export const decodeRequest: (payload: Uint8Array) => Request = decodeCbc;
export const encodeResponse: (res: Response) => Uint8Array = encodeData;
export const decodeResponse: (payload: Uint8Array) => Response = decodeData;
