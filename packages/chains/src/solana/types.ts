import type { AssetAmount } from '../totals';

export interface SolanaDecodeOptions {
  /** Base58 public key of the signing key; it must be a required signer of the message. */
  signer: string;
  /** Contents of every address lookup table the message references, by table address (base58). */
  lookupTables?: Record<string, readonly string[]>;
}

/** Lamports moved by a System program instruction, from `from` to `to`. */
export interface SolanaSystemTransfer {
  kind: 'system-transfer';
  programId: string;
  instruction: 'Transfer' | 'TransferWithSeed' | 'CreateAccount' | 'CreateAccountWithSeed' | 'WithdrawNonceAccount';
  from: string;
  to: string;
  /** u64, decimal. */
  lamports: string;
}

/** Tokens moved by the SPL Token or Token-2022 program. */
export interface SolanaTokenTransfer {
  kind: 'spl-token-transfer';
  programId: string;
  instruction: 'Transfer' | 'TransferChecked' | 'TransferCheckedWithFee';
  /** u64 in the mint's base units, decimal. */
  amount: string;
  /** Carried by the checked forms only; null for plain Transfer (the mint is in the source account's data). */
  mint: string | null;
  decimals: number | null;
  /** Source token account (not its owner). */
  source: string;
  destination: string;
  /** Owner or delegate of the source account (or the multisig account). */
  authority: string;
}

/** Any other instruction: listed by program, with a name when it is a known System or SPL Token instruction. */
export interface SolanaOtherInstruction {
  kind: 'other';
  programId: string;
  /** e.g. 'system:Assign', 'spl-token:Approve'; null when the program or instruction is not known. */
  name: string | null;
  dataLength: number;
  accounts: string[];
}

export type SolanaInstruction = SolanaSystemTransfer | SolanaTokenTransfer | SolanaOtherInstruction;

export interface SolanaAccount {
  address: string;
  signer: boolean;
  /** As the message header / lookup marks it (the runtime may still demote program ids and reserved accounts). */
  writable: boolean;
  /** The lookup table it was loaded from, or null for a static key. */
  lookupTable: string | null;
}

export interface SolanaTotals {
  /** Sum of lamports in all System transfers. */
  lamports: string;
  /** Token amounts of the checked transfers, by mint. */
  tokens: AssetAmount[];
  /** Token amounts of plain Transfers, whose mint the message does not name, by source token account. */
  tokensWithoutMint: AssetAmount[];
}

export interface SolanaSummary {
  chain: 'solana';
  version: 'legacy' | 0;
  feePayer: string;
  recentBlockhash: string;
  /** Required signers, in order; the signing key is one of them. */
  signers: string[];
  /** Every account the message loads, static keys first, then lookup-table accounts (writable, then readonly). */
  accounts: SolanaAccount[];
  /** Distinct program ids of the top-level instructions, in first-use order. */
  programIds: string[];
  instructions: SolanaInstruction[];
  totals: SolanaTotals;
}
