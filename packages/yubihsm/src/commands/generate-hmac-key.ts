// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-generate-hmac-key.html
import { Command } from '../codes';
import * as GenerateAsymmetricKey from './generate-asymmetric-key';

export const CODE = Command.GENERATE_HMAC_KEY;

/** The bare object header, GENERATE_ASYMMETRIC_KEY's layout; the algorithm is HMAC_SHA1/256/384/512. */
export type Request = GenerateAsymmetricKey.Request;
export type Response = GenerateAsymmetricKey.Response;

export const { encodeRequest, decodeRequest, encodeResponse, decodeResponse } = GenerateAsymmetricKey;
