/** An amount of one asset, as a decimal string so summaries stay JSON (bigint is not). */
export interface AssetAmount {
  /** Chain-specific asset id: a Cosmos denom, a Solana mint or token account, an ERC-20 contract. */
  asset: string;
  /** Non-negative integer in the asset's base unit, decimal. */
  amount: string;
}

/** Sums per asset. A Map, not an object, so an asset called "__proto__" is just a name. */
export class Totals {
  private readonly sums = new Map<string, bigint>();

  add(asset: string, amount: bigint): void {
    this.sums.set(asset, (this.sums.get(asset) ?? 0n) + amount);
  }

  /** Sorted by asset id, so two summaries of the same message are identical. */
  list(): AssetAmount[] {
    return [...this.sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([asset, amount]) => ({ asset, amount: amount.toString() }));
  }
}
