// Key sizes and hashes of the device's symmetric algorithms, one table per object kind, so that
// PUT, GENERATE, the crypto commands and wrapped export/import read the same numbers.
import { Algorithm } from '@kmsgate/yubihsm';

/** AES-CCM wrap keys (PUT_WRAP_KEY page: 16, 24 or 32 bytes). */
export const CCM_WRAP_KEY_LENGTH: ReadonlyMap<number, number> = new Map([
  [Algorithm.AES128_CCM_WRAP, 16],
  [Algorithm.AES192_CCM_WRAP, 24],
  [Algorithm.AES256_CCM_WRAP, 32],
]);

/** Symmetric keys for ENCRYPT/DECRYPT_ECB/CBC (firmware 2.3.1+; PUT_SYMMETRIC_KEY page). */
export const AES_KEY_LENGTH: ReadonlyMap<number, number> = new Map([
  [Algorithm.AES128, 16],
  [Algorithm.AES192, 24],
  [Algorithm.AES256, 32],
]);

export interface HmacSpec {
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** The hash's block size: the longest key HMAC uses unhashed (RFC 2104 §2), 64 or 128 bytes. */
  readonly blockSize: number;
  readonly macLength: number;
}

/** HMAC keys (PUT_HMAC_KEY page: up to 64 bytes for SHA-1/256, 128 for SHA-384/512). */
export const HMAC_SPECS: ReadonlyMap<number, HmacSpec> = new Map<number, HmacSpec>([
  [Algorithm.HMAC_SHA1, { hash: 'sha1', blockSize: 64, macLength: 20 }],
  [Algorithm.HMAC_SHA256, { hash: 'sha256', blockSize: 64, macLength: 32 }],
  [Algorithm.HMAC_SHA384, { hash: 'sha384', blockSize: 128, macLength: 48 }],
  [Algorithm.HMAC_SHA512, { hash: 'sha512', blockSize: 128, macLength: 64 }],
]);
