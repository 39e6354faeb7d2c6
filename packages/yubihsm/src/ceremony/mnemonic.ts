/**
 * The 24-word BIP-39 mnemonic a kmsgate YubiHSM 2 layout is derived from, and every secret derived
 * from it (docs/yubihsm-setup.md, "What the mnemonic derives"):
 *
 *   seed      = BIP-39 seed of the mnemonic, empty passphrase (PBKDF2-HMAC-SHA512, 2048 rounds)
 *   secret(x) = HKDF-SHA256(ikm = seed, salt = "kmsgate/yubihsm/v1", info = x), 32 bytes
 *
 * with `x` = `auth/<role>` for each authentication key's password (lower-case hex of the 32 bytes,
 * so yubihsm-shell can log in with it too), `wrap/backup` for the AES-256 backup wrap key,
 * `backup-file/mac` for the HMAC key of backup files and `fingerprint` (first 4 bytes) for the
 * public name of the mnemonic written into object labels and backup files.
 */
import { hkdfSync, timingSafeEqual } from 'node:crypto';
import { entropyToMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english';
import { assertBytes } from '../check';

/** 24 words = 256 bits of entropy + 8 checksum bits (BIP-39). */
export const MNEMONIC_WORDS = 24;
export const MNEMONIC_ENTROPY_BYTES = 32;
const SALT = 'kmsgate/yubihsm/v1';
const ENTROPY_INFO = 'mnemonic/entropy';
const SECRET_LENGTH = 32;
const FINGERPRINT_LENGTH = 4;

export class MnemonicError extends Error {}

/**
 * A new mnemonic from device and host randomness together, so that neither a weak device RNG nor a
 * weak host RNG alone decides it: HKDF-SHA256(device ‖ host, salt, "mnemonic/entropy").
 */
export function mnemonicFromRandomness(deviceRandom: Uint8Array, hostRandom: Uint8Array): string {
  assertBytes('deviceRandom', deviceRandom, MNEMONIC_ENTROPY_BYTES);
  assertBytes('hostRandom', hostRandom, MNEMONIC_ENTROPY_BYTES);
  const ikm = new Uint8Array(2 * MNEMONIC_ENTROPY_BYTES);
  ikm.set(deviceRandom);
  ikm.set(hostRandom, MNEMONIC_ENTROPY_BYTES);
  const entropy = new Uint8Array(hkdfSync('sha256', ikm, SALT, ENTROPY_INFO, MNEMONIC_ENTROPY_BYTES));
  ikm.fill(0);
  try {
    return entropyToMnemonic(entropy, wordlist);
  } finally {
    entropy.fill(0);
  }
}

/**
 * The mnemonic in canonical form (single spaces, lower case). Throws MnemonicError naming what is
 * wrong: the word count, a word not in the English list (by position), or the checksum.
 */
export function parseMnemonic(text: string): string {
  if (typeof text !== 'string') throw new TypeError('mnemonic must be a string');
  const words = text
    .normalize('NFKD')
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length !== MNEMONIC_WORDS) throw new MnemonicError(`a kmsgate mnemonic has ${MNEMONIC_WORDS} words, this one has ${words.length}`);
  const known = new Set(wordlist);
  words.forEach((w, i) => {
    // The word itself is part of the secret: name its position only.
    if (!known.has(w)) throw new MnemonicError(`word ${i + 1} is not in the BIP-39 English word list`);
  });
  const canonical = words.join(' ');
  if (!validateMnemonic(canonical, wordlist)) {
    throw new MnemonicError('the mnemonic checksum does not match: a word is wrong or out of order');
  }
  return canonical;
}

/** Every secret derived from one mnemonic. `wipe()` zeroes the bytes once the ceremony is done. */
export class CeremonySecrets {
  /** Public: names the mnemonic in labels and backup files without revealing anything about it. */
  readonly fingerprint: string;
  readonly #seed: Uint8Array;

  private constructor(seed: Uint8Array) {
    this.#seed = seed;
    this.fingerprint = Buffer.from(this.#derive('fingerprint').subarray(0, FINGERPRINT_LENGTH)).toString('hex');
  }

  /** From a mnemonic as typed (see parseMnemonic for what is refused). */
  static fromMnemonic(text: string): CeremonySecrets {
    return new CeremonySecrets(new Uint8Array(mnemonicToSeedSync(parseMnemonic(text), '')));
  }

  /** The password of the authentication key for `role` (64 hex characters). */
  password(role: string): string {
    return Buffer.from(this.#derive(`auth/${role}`)).toString('hex');
  }

  /** The AES-256 backup wrap key. */
  wrapKey(): Uint8Array {
    return this.#derive('wrap/backup');
  }

  /** The HMAC-SHA256 key that seals backup files. */
  backupMacKey(): Uint8Array {
    return this.#derive('backup-file/mac');
  }

  /** Whether `fingerprint` names this mnemonic (constant time). */
  matches(fingerprint: string): boolean {
    const a = Buffer.from(this.fingerprint);
    const b = Buffer.from(String(fingerprint));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  wipe(): void {
    this.#seed.fill(0);
  }

  toJSON(): Record<string, unknown> {
    return { fingerprint: this.fingerprint, secrets: '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CeremonySecrets ${JSON.stringify(this.toJSON())}`;
  }

  #derive(info: string): Uint8Array {
    if (this.#seed.every((b) => b === 0)) throw new Error('the ceremony secrets were wiped');
    return new Uint8Array(hkdfSync('sha256', this.#seed, SALT, info, SECRET_LENGTH));
  }
}
