import { toBech32 } from '@cosmjs/encoding';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ripemd160 } from '@noble/hashes/ripemd160';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { PublicKey } from '@solana/web3.js';
import { toHex } from './bytes';
import { fail } from './errors';
import { parseSpkiOf } from './spki';

export type Chain = 'ethereum' | 'solana' | 'cosmos';

export interface DeriveAddressOptions {
  /** Bech32 prefix (human-readable part) for Cosmos addresses; default 'cosmos'. */
  prefix?: string;
}

/** Lower-case bech32 HRP short enough that hrp + '1' + 32 data chars + 6 checksum chars ≤ 90 (BIP-173). */
const COSMOS_PREFIX = /^[a-z0-9]{1,51}$/;

/**
 * The address a key has on `chain`, from its SubjectPublicKeyInfo DER:
 * - ethereum: EIP-55 checksummed, last 20 bytes of keccak-256 of the uncompressed point (secp256k1);
 * - solana: base58 of the 32-byte Ed25519 public key;
 * - cosmos: bech32(prefix, ripemd160(sha256(compressed secp256k1 point))).
 * A key of the wrong type throws DecodeError KEY_TYPE_MISMATCH.
 */
export function deriveAddress(chain: Chain, spki: Uint8Array, opts: DeriveAddressOptions = {}): string {
  switch (chain) {
    case 'ethereum': {
      const { publicKey } = parseSpkiOf(spki, 'secp256k1', 'an Ethereum address');
      return checksumAddress(keccak_256(publicKey.subarray(1)).subarray(12));
    }
    case 'solana': {
      const { publicKey } = parseSpkiOf(spki, 'ed25519', 'a Solana address');
      return new PublicKey(publicKey).toBase58();
    }
    case 'cosmos': {
      const prefix = opts.prefix ?? 'cosmos';
      if (typeof prefix !== 'string' || !COSMOS_PREFIX.test(prefix)) {
        fail('INVALID_ARGUMENT', 'prefix must be 1-51 lower-case letters or digits');
      }
      const { publicKey } = parseSpkiOf(spki, 'secp256k1', 'a Cosmos address');
      const compressed = secp256k1.Point.fromHex(publicKey).toRawBytes(true);
      return toBech32(prefix, ripemd160(sha256(compressed)));
    }
    default:
      return fail('INVALID_ARGUMENT', `unknown chain ${JSON.stringify(chain)}`);
  }
}

/** EIP-55 mixed-case checksum of a 20-byte address. */
export function checksumAddress(address20: Uint8Array): string {
  const lower = toHex(address20);
  const hash = toHex(keccak_256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  }
  return out;
}
