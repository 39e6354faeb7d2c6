// Key sizes and hashes of the device's symmetric algorithms, one table per object kind, so that
// PUT, GENERATE, the crypto commands and wrapped export/import read the same numbers.
import { Algorithm, PutHmacKey } from '@kmsgate/yubihsm';

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

/** HMAC keys: the codec's table (hash, block size = longest key, MAC length). */
export const HMAC_SPECS = PutHmacKey.HMAC_ALGORITHMS;
export type HmacSpec = PutHmacKey.HmacAlgorithm;
