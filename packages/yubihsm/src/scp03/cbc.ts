/**
 * AES-CBC under one key on cipher contexts kept for a session, with any IV per message. OpenSSL's
 * CBC state after a message is its last ciphertext block; XORing that block and the message's IV
 * into the first block of the next message turns the running chain into CBC with that IV. An SCP03
 * exchange would otherwise set up five cipher contexts (IV, encryption, C-MAC, R-MAC, decryption).
 * The contexts hold the key schedule until they are collected, as the per-message ones did.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { BLOCK_SIZE, aesName } from './util';

const ZERO_IV = new Uint8Array(BLOCK_SIZE);

export class CbcKey {
  readonly #key: Uint8Array;
  readonly #enc: Cipher;
  #dec: Decipher | undefined;
  /** The last ciphertext block each context produced or consumed: its CBC state. */
  readonly #encState = new Uint8Array(BLOCK_SIZE);
  readonly #decState = new Uint8Array(BLOCK_SIZE);

  /** `key` is kept by reference (its owner zeroes it). */
  constructor(key: Uint8Array) {
    this.#key = key;
    this.#enc = createCipheriv(aesName(key, 'cbc'), key, ZERO_IV);
    this.#enc.setAutoPadding(false);
  }

  /** AES-CBC encryption of whole blocks with `iv` (16 bytes); `blocks` is left as it was. */
  encrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    const input = this.#rechain(blocks, iv, this.#encState);
    const out = new Uint8Array(this.#enc.update(input));
    input.fill(0);
    this.#encState.set(out.subarray(out.length - BLOCK_SIZE));
    return out;
  }

  /** AES-CBC decryption of whole blocks with `iv` (16 bytes). */
  decrypt(iv: Uint8Array, blocks: Uint8Array): Uint8Array {
    checkInput(iv, blocks);
    this.#dec ??= this.#newDecipher();
    const out = new Uint8Array(this.#dec.update(blocks));
    // The context XORed the first block with its state where the message's IV belongs.
    for (let i = 0; i < BLOCK_SIZE; i++) out[i]! ^= this.#decState[i]! ^ iv[i]!;
    this.#decState.set(blocks.subarray(blocks.length - BLOCK_SIZE));
    return out;
  }

  /** Zeroes what this object holds besides the contexts themselves. */
  zero(): void {
    this.#encState.fill(0);
    this.#decState.fill(0);
  }

  #newDecipher(): Decipher {
    const d = createDecipheriv(aesName(this.#key, 'cbc'), this.#key, ZERO_IV);
    d.setAutoPadding(false);
    return d;
  }

  /** A copy of `blocks` whose first block is XORed with the context's state and `iv`. */
  #rechain(blocks: Uint8Array, iv: Uint8Array, state: Uint8Array): Uint8Array {
    checkInput(iv, blocks);
    const input = new Uint8Array(blocks);
    for (let i = 0; i < BLOCK_SIZE; i++) input[i]! ^= state[i]! ^ iv[i]!;
    return input;
  }
}

function checkInput(iv: Uint8Array, blocks: Uint8Array): void {
  if (blocks.length === 0 || blocks.length % BLOCK_SIZE !== 0) throw new RangeError('CBC input must be whole 16-byte blocks');
  if (iv.length !== BLOCK_SIZE) throw new RangeError('the IV must be 16 bytes');
}
