/** Address checks for policy fields, so a typo in an allowlist stops the gateway instead of matching nothing. */
import { fromBech32 } from '@cosmjs/encoding';
import { checksumAddress } from '@kmsgate/chains';

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BASE58_INDEX = new Map([...BASE58_ALPHABET].map((c, i) => [c, BigInt(i)] as const));

/** Decoded length of a base58 string (Bitcoin alphabet, leading '1's are zero bytes), or undefined if it is not base58. */
function base58Length(s: string): number | undefined {
  if (s.length === 0 || s.length > 64) return undefined;
  let n = 0n;
  for (const c of s) {
    const d = BASE58_INDEX.get(c);
    if (d === undefined) return undefined;
    n = n * 58n + d;
  }
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  let bytes = 0;
  while (n > 0n) {
    n >>= 8n;
    bytes++;
  }
  return zeros + bytes;
}

/** A Solana address: base58 of exactly 32 bytes, in canonical form (what `PublicKey.toBase58()` prints). */
export function isSolanaAddress(s: string): boolean {
  return base58Length(s) === 32;
}

/** A bech32 account or contract address with a valid checksum, lower case (how the decoder reports it). */
export function isBech32Address(s: string): boolean {
  if (s !== s.toLowerCase()) return false;
  try {
    const { data } = fromBech32(s);
    return data.length === 20 || data.length === 32;
  } catch {
    return false;
  }
}

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * The EIP-55 form of an Ethereum address (how the decoder reports addresses), or undefined when
 * it is not one. All-lower-case and all-upper-case input carries no checksum and is accepted;
 * mixed case must be a correct EIP-55 checksum.
 */
export function normaliseEthereumAddress(s: string): string | undefined {
  if (!HEX_ADDRESS.test(s)) return undefined;
  const body = s.slice(2);
  const bytes = Uint8Array.from(
    body
      .toLowerCase()
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );
  const checksummed = checksumAddress(bytes);
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixed && checksummed !== s) return undefined;
  return checksummed;
}
