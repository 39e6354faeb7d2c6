// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-symmetric-key.html
import { Command } from '../codes';
import * as PutAsymmetricKey from './put-asymmetric-key';

export const CODE = Command.PUT_SYMMETRIC_KEY;

/** `H || key`, PUT_ASYMMETRIC_KEY's layout: AES128/192/256 (firmware ≥ 2.3.1) with a 16/24/32-byte key. */
export type Request = PutAsymmetricKey.Request;
export type Response = PutAsymmetricKey.Response;

export const { encodeRequest, decodeRequest, encodeResponse, decodeResponse } = PutAsymmetricKey;
