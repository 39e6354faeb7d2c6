// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-put-hmac-key.html
import { Algorithm, Command } from '../codes';
import * as PutAsymmetricKey from './put-asymmetric-key';

export const CODE = Command.PUT_HMAC_KEY;

/**
 * `H || key`, PUT_ASYMMETRIC_KEY's layout. HMAC_SHA1/256/384/512 take a key of 1 to 64 bytes
 * (SHA-1, SHA-256) or 1 to 128 bytes (SHA-384, SHA-512): at most the hash's block size. A longer
 * key is hashed first by the caller, as RFC 2104 §2 says and python-yubihsm's `HmacKey.put` does.
 */
export type Request = PutAsymmetricKey.Request;
export type Response = PutAsymmetricKey.Response;

export const { encodeRequest, decodeRequest, encodeResponse, decodeResponse } = PutAsymmetricKey;

export interface HmacAlgorithm {
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** The hash's block size (RFC 2104 §2's B): the longest key the device takes. */
  readonly blockSize: number;
  /** What SIGN_HMAC answers and VERIFY_HMAC expects. */
  readonly macLength: number;
}

/** The four HMAC algorithms (no HMAC-SHA224 on the device). */
export const HMAC_ALGORITHMS: ReadonlyMap<number, HmacAlgorithm> = new Map<number, HmacAlgorithm>([
  [Algorithm.HMAC_SHA1, { hash: 'sha1', blockSize: 64, macLength: 20 }],
  [Algorithm.HMAC_SHA256, { hash: 'sha256', blockSize: 64, macLength: 32 }],
  [Algorithm.HMAC_SHA384, { hash: 'sha384', blockSize: 128, macLength: 48 }],
  [Algorithm.HMAC_SHA512, { hash: 'sha512', blockSize: 128, macLength: 64 }],
]);
