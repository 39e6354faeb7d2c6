/**
 * Key derivation for SCP03 as YubiHSM 2 uses it: the password KDF that turns a password into an
 * authentication key, AES-CMAC (RFC 4493 / NIST SP 800-38B), and the SP 800-108 counter-mode KDF
 * with AES-CMAC as PRF (GlobalPlatform Card Spec Amendment D, GPC_SPE_014 §4.1.5).
 */
import { pbkdf2Sync } from 'node:crypto';
import { assertBytes, assertInt, assertString } from '../check';
import { CbcKey } from './cbc';
import { BLOCK_SIZE, concatBytes } from './util';

/** The two AES-128 keys of an authentication-key object. */
export interface AuthKey {
  encKey: Uint8Array;
  macKey: Uint8Array;
}

/** `YH_DEFAULT_SALT` (yubihsm-shell `lib/yubihsm.h`, python `utils.password_to_key`). */
export const PASSWORD_SALT = 'Yubico';
/** `YH_DEFAULT_ITERS`. */
export const PASSWORD_ITERATIONS = 10_000;
/** AES-128 keys throughout SCP03 (GPC_SPE_014 with S8 mode as YubiHSM 2 uses it). */
export const KEY_LENGTH = 16;
/** Object ID of the factory-default authentication key (password `password`). */
export const DEFAULT_AUTH_KEY_ID = 1;

/** PBKDF2-HMAC-SHA256(UTF-8 password, "Yubico", 10000) → K-ENC (bytes 0–15) and K-MAC (16–31). */
export function authKeyFromPassword(password: string): AuthKey {
  assertString('password', password);
  const out = pbkdf2Sync(new TextEncoder().encode(password), PASSWORD_SALT, PASSWORD_ITERATIONS, 2 * KEY_LENGTH, 'sha256');
  const raw = new Uint8Array(out);
  out.fill(0);
  const key = { encKey: raw.slice(0, KEY_LENGTH), macKey: raw.slice(KEY_LENGTH) };
  raw.fill(0);
  return key;
}

/** Doubling in GF(2^128), the subkey step of RFC 4493 §2.3. */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK_SIZE);
  for (let i = 0; i < BLOCK_SIZE; i++) {
    out[i] = ((block[i]! << 1) | ((block[i + 1] ?? 0) >>> 7)) & 0xff;
  }
  // Rb for a 128-bit block cipher.
  if (block[0]! & 0x80) out[BLOCK_SIZE - 1]! ^= 0x87;
  return out;
}

const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/**
 * AES-CMAC (RFC 4493) under one 128-, 192- or 256-bit key, its subkeys and cipher context set up
 * once: a session MACs every message with the same key. The CBC-MAC pass runs as one AES-CBC
 * encryption with a zero IV, whose last block is the tag. `key` is kept by reference (its owner
 * zeroes it).
 */
export class CmacKey {
  readonly #cbc: CbcKey;
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  constructor(key: Uint8Array) {
    assertBytes('key', key);
    this.#cbc = new CbcKey(key);
    // One block of CBC with a zero IV is the block cipher itself: L = AES(K, 0^128).
    const l = this.#cbc.encrypt(ZERO_BLOCK, ZERO_BLOCK);
    this.#k1 = dbl(l);
    this.#k2 = dbl(this.#k1);
    l.fill(0);
  }

  /** The full 16-byte tag. */
  mac(data: Uint8Array): Uint8Array {
    assertBytes('data', data);
    const complete = data.length > 0 && data.length % BLOCK_SIZE === 0;
    const blocks = Math.max(1, Math.ceil(data.length / BLOCK_SIZE));
    const m = new Uint8Array(blocks * BLOCK_SIZE);
    m.set(data);
    const subkey = complete ? this.#k1 : this.#k2;
    if (!complete) m[data.length] = 0x80;
    const last = (blocks - 1) * BLOCK_SIZE;
    for (let i = 0; i < BLOCK_SIZE; i++) m[last + i]! ^= subkey[i]!;
    const out = this.#cbc.encrypt(ZERO_BLOCK, m);
    const tag = out.slice(out.length - BLOCK_SIZE);
    m.fill(0);
    out.fill(0);
    return tag;
  }

  /** Zeroes the subkeys. */
  zero(): void {
    this.#k1.fill(0);
    this.#k2.fill(0);
    this.#cbc.zero();
  }
}

/** AES-CMAC (RFC 4493) with a 128-, 192- or 256-bit key; returns the full 16-byte tag. */
export function aesCmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const cmac = new CmacKey(key);
  try {
    return cmac.mac(data);
  } finally {
    cmac.zero();
  }
}

/** Derivation constants (GPC_SPE_014 Table 4-1; yubihsm-shell `scp.h`). */
export const DerivationConstant = {
  CARD_CRYPTOGRAM: 0x00,
  HOST_CRYPTOGRAM: 0x01,
  S_ENC: 0x04,
  S_MAC: 0x06,
  S_RMAC: 0x07,
} as const;

/**
 * SP 800-108 counter-mode KDF with AES-CMAC as PRF, in the SCP03 input layout:
 * `00×11 || constant || 00 || L(2, bits) || i(1) || context`. Output is the first L/8 bytes.
 */
export function scp03Kdf(key: Uint8Array, constant: number, context: Uint8Array, lengthBits: number): Uint8Array {
  assertBytes('key', key);
  assertInt('constant', constant, 0, 0xff);
  assertBytes('context', context);
  // The block counter is one byte.
  assertInt('lengthBits', lengthBits, 8, 255 * BLOCK_SIZE * 8);
  if (lengthBits % 8 !== 0) throw new RangeError('lengthBits must be a multiple of 8');
  const outLength = lengthBits / 8;
  const blocks: Uint8Array[] = [];
  for (let i = 1; blocks.length * BLOCK_SIZE < outLength; i++) {
    const input = concatBytes(new Uint8Array(11), Uint8Array.of(constant, 0x00, lengthBits >>> 8, lengthBits & 0xff, i), context);
    blocks.push(aesCmac(key, input));
  }
  const all = concatBytes(...blocks);
  const out = all.slice(0, outLength);
  all.fill(0);
  for (const b of blocks) b.fill(0);
  return out;
}
