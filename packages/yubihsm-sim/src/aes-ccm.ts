// AES-CCM as the device uses it for EXPORT_WRAPPED / IMPORT_WRAPPED and WRAP_DATA / UNWRAP_DATA:
// 13-byte nonce (so a 2-byte length field, at most 65535 bytes), 16-byte tag, no associated data
// (Yubico Export Wrapped page; yubihsm-shell `yhwrap/main.c`, whose output hardware imports).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CCM_NONCE_LENGTH, CCM_TAG_LENGTH, type CcmWrapped, DeviceError, DeviceErrorCode } from '@kmsgate/yubihsm';

const CIPHERS: Readonly<Record<number, 'aes-128-ccm' | 'aes-192-ccm' | 'aes-256-ccm'>> = {
  16: 'aes-128-ccm',
  24: 'aes-192-ccm',
  32: 'aes-256-ccm',
};

function cipherFor(key: Uint8Array): 'aes-128-ccm' | 'aes-192-ccm' | 'aes-256-ccm' {
  const name = CIPHERS[key.length];
  if (name === undefined) throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  return name;
}

/**
 * Encrypts under a fresh random nonce. Hardware's nonces look like a per-device prefix and a
 * counter (archlinux/signstar's device-made `.yhw` test files); a random 104-bit nonce is as
 * unique without a counter that would have to survive restarts of the simulator.
 */
export function ccmSeal(key: Uint8Array, plaintext: Uint8Array): CcmWrapped {
  const nonce = new Uint8Array(randomBytes(CCM_NONCE_LENGTH));
  const cipher = createCipheriv(cipherFor(key), key, nonce, { authTagLength: CCM_TAG_LENGTH });
  cipher.setAAD(new Uint8Array(0), { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce, ciphertext: new Uint8Array(body) };
}

/** The plaintext, or INVALID_DATA when the tag does not verify (wrong key, altered bytes). */
export function ccmOpen(key: Uint8Array, wrapped: CcmWrapped): Uint8Array {
  const { nonce, ciphertext } = wrapped;
  const body = ciphertext.subarray(0, ciphertext.length - CCM_TAG_LENGTH);
  const decipher = createDecipheriv(cipherFor(key), key, nonce, { authTagLength: CCM_TAG_LENGTH });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - CCM_TAG_LENGTH));
  decipher.setAAD(new Uint8Array(0), { plaintextLength: body.length });
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  }
}
