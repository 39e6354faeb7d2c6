/**
 * Card and host cryptograms (GPC_SPE_014 §6.2.2.2–6.2.2.3): 64-bit KDF outputs keyed with S-MAC
 * over `host challenge || card challenge`. They prove to each side that the other holds the
 * authentication key.
 */
import { DerivationConstant, scp03Kdf } from './kdf';
import { constantTimeEqual } from './util';

/** Cryptograms and challenges are 8 bytes (python-yubihsm, yubihsm-shell `SCP_CARD_CRYPTO_LEN`). */
export const CRYPTOGRAM_LENGTH = 8;
export const CHALLENGE_LENGTH = 8;

export function cardCryptogram(sMac: Uint8Array, context: Uint8Array): Uint8Array {
  return scp03Kdf(sMac, DerivationConstant.CARD_CRYPTOGRAM, context, CRYPTOGRAM_LENGTH * 8);
}

export function hostCryptogram(sMac: Uint8Array, context: Uint8Array): Uint8Array {
  return scp03Kdf(sMac, DerivationConstant.HOST_CRYPTOGRAM, context, CRYPTOGRAM_LENGTH * 8);
}

export function cryptogramsEqual(expected: Uint8Array, received: Uint8Array): boolean {
  return constantTimeEqual(expected, received);
}
