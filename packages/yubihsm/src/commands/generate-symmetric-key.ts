// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-generate-symmetric-key.html
import { Command } from '../codes';
import * as GenerateAsymmetricKey from './generate-asymmetric-key';

export const CODE = Command.GENERATE_SYMMETRIC_KEY;

/** The bare object header, GENERATE_ASYMMETRIC_KEY's layout; the algorithm is AES128/192/256 (firmware ≥ 2.3.1). */
export type Request = GenerateAsymmetricKey.Request;
export type Response = GenerateAsymmetricKey.Response;

export const { encodeRequest, decodeRequest, encodeResponse, decodeResponse } = GenerateAsymmetricKey;
