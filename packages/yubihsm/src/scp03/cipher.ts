/**
 * Command and response encryption of the SCP03 channel (GPC_SPE_014 §6.2.6–6.2.7): AES-128-CBC
 * with S-ENC, the IV being S-ENC applied to the 16-byte big-endian message counter, and
 * ISO/IEC 7816-4 padding that is always added. Both directions of one exchange share the IV.
 */
import type { CbcKey } from './cbc';
import { BLOCK_SIZE } from './util';

const ZERO_IV = new Uint8Array(BLOCK_SIZE);

export function counterIv(sEnc: CbcKey, counter: number): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  // A JS number counter stays below 2^53, so the top 9 bytes are always zero.
  new DataView(block.buffer).setBigUint64(8, BigInt(counter), false);
  // One block of CBC with a zero IV is the block cipher itself (ECB).
  return sEnc.encrypt(ZERO_IV, block);
}

/** `data || 80 || 00…` up to the next multiple of 16; a whole block is added when already aligned. */
export function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array((Math.floor(data.length / BLOCK_SIZE) + 1) * BLOCK_SIZE);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** Strips ISO/IEC 7816-4 padding; undefined when the padding is malformed. */
export function unpad(data: Uint8Array): Uint8Array | undefined {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0) i--;
  if (i < 0 || data[i] !== 0x80 || data.length - i > BLOCK_SIZE) return undefined;
  return data.slice(0, i);
}

export function encrypt(sEnc: CbcKey, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const padded = pad(plaintext);
  const out = sEnc.encrypt(iv, padded);
  padded.fill(0);
  return out;
}

/** Decrypts and unpads; undefined when the ciphertext is not whole blocks or the padding is bad. */
export function decrypt(sEnc: CbcKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_SIZE !== 0) return undefined;
  const padded = sEnc.decrypt(iv, ciphertext);
  const plain = unpad(padded);
  padded.fill(0);
  return plain;
}
