/**
 * Amounts are non-negative integers in an asset's base unit (lamports, uatom, wei, token base
 * units), carried as canonical decimal strings and computed as bigint. Caps and everything the
 * ledger records stay below 2^256 (the largest amount any of the three chains can express), so an
 * amount fits in eight 32-bit limbs, which SQLite can sum exactly (see AMOUNT_LIMBS).
 */
export const MAX_AMOUNT = (1n << 256n) - 1n;

/** Eight little-endian 32-bit limbs: SQLite sums each one in a 64-bit integer without overflow for up to 2^31 rows. */
export const AMOUNT_LIMBS = 8;
const LIMB_BITS = 32n;
const LIMB_MASK = (1n << LIMB_BITS) - 1n;

const CANONICAL = /^(0|[1-9][0-9]*)$/;

/** A canonical decimal string as bigint, or undefined when it is not one (sign, leading zeros, spaces, exponent…). */
export function parseAmount(s: unknown): bigint | undefined {
  if (typeof s !== 'string' || s.length > 80 || !CANONICAL.test(s)) return undefined;
  return BigInt(s);
}

export function toLimbs(amount: bigint): number[] {
  if (amount < 0n || amount > MAX_AMOUNT) throw new RangeError('amount must be in [0, 2^256)');
  const limbs: number[] = [];
  let v = amount;
  for (let i = 0; i < AMOUNT_LIMBS; i++) {
    limbs.push(Number(v & LIMB_MASK));
    v >>= LIMB_BITS;
  }
  return limbs;
}

/** Recombines per-limb sums (each possibly above 2^32) into the exact total. */
export function fromLimbSums(sums: readonly bigint[]): bigint {
  let total = 0n;
  for (let i = sums.length - 1; i >= 0; i--) total = (total << LIMB_BITS) + sums[i]!;
  return total;
}
