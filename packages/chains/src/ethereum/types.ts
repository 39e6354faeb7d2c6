import type { AssetAmount } from '../totals';

/** What the transaction's `to` and `data` do, as far as the calldata shows. Addresses are EIP-55. */
export type EthereumCall =
  /** No calldata: a plain value transfer (to an account or a contract's receive function). */
  | { kind: 'native-transfer' }
  /** `to` is empty: the data is init code. */
  | { kind: 'contract-creation'; dataLength: number }
  /** ERC-20 transfer(address,uint256) on the token contract `token`. */
  | { kind: 'erc20-transfer'; token: string; to: string; amount: string }
  /** ERC-20 transferFrom(address,address,uint256). */
  | { kind: 'erc20-transfer-from'; token: string; from: string; to: string; amount: string }
  /** ERC-20 approve(address,uint256): `spender` may move up to `amount` of the signer's tokens. */
  | { kind: 'erc20-approve'; token: string; spender: string; amount: string }
  /** Any other call: the 4-byte selector (null when the data is shorter than 4 bytes). */
  | { kind: 'contract-call'; selector: string | null; dataLength: number };

export interface EthereumTransactionSummary {
  chain: 'ethereum';
  /** 0 legacy (EIP-155), 1 EIP-2930, 2 EIP-1559. */
  type: 0 | 1 | 2;
  chainId: string;
  nonce: string;
  /** EIP-55 checksummed, or null for contract creation. */
  to: string | null;
  /** Wei, decimal. */
  value: string;
  /** Calldata, 0x-prefixed lower-case hex. */
  data: string;
  gasLimit: string;
  /** Legacy and EIP-2930 only. */
  gasPrice: string | null;
  /** EIP-1559 only. */
  maxFeePerGas: string | null;
  maxPriorityFeePerGas: string | null;
  /** gasLimit × (gasPrice or maxFeePerGas): the most this transaction can pay in fees, in wei. */
  maxFee: string;
  accessList: { address: string; storageKeys: string[] }[];
  call: EthereumCall;
  /** keccak-256 of the unsigned serialisation: the 32-byte digest the key signs (0x hex). */
  signingHash: string;
  totals: {
    /** `value`, in wei (fees are in `maxFee`). */
    wei: string;
    /** ERC-20 amounts moved by transfer / transferFrom, by token contract (EIP-55). Approvals are not transfers. */
    tokens: AssetAmount[];
  };
}

export interface Eip712Domain {
  name?: string;
  version?: string;
  /** Decimal. */
  chainId?: string;
  /** EIP-55. */
  verifyingContract?: string;
  /** 0x hex, 32 bytes. */
  salt?: string;
}

export interface Eip712Field {
  name: string;
  type: string;
}

export interface Eip712Summary {
  chain: 'ethereum';
  domain: Eip712Domain;
  primaryType: string;
  /** The types the message uses (reachable from primaryType), as given. */
  types: Record<string, Eip712Field[]>;
  /**
   * The message exactly as hashed: only the fields its type declares, integers as decimal strings,
   * addresses EIP-55, bytes as lower-case hex. Fields the type does not declare are not signed and not shown.
   */
  message: Record<string, unknown>;
  domainSeparator: string;
  /** keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)): the digest the key signs (0x hex). */
  digest: string;
}
