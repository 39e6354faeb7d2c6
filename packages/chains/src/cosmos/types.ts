import type { AssetAmount } from '../totals';

export interface CosmosCoin {
  denom: string;
  /** Non-negative integer, decimal, canonical (no sign, no leading zeros). */
  amount: string;
}

/** Fields every message summary has. */
interface MessageBase {
  /** Protobuf type URL; for amino JSON the URL the amino type maps to, or null when the amino type is not known. */
  typeUrl: string | null;
  /** The amino type name (e.g. 'cosmos-sdk/MsgSend'), present only for amino JSON sign docs. */
  aminoType?: string;
}

/** cosmos.bank.v1beta1.MsgSend */
export interface CosmosSend extends MessageBase {
  kind: 'send';
  from: string;
  to: string;
  amount: CosmosCoin[];
}

/** cosmos.bank.v1beta1.MsgMultiSend */
export interface CosmosMultiSend extends MessageBase {
  kind: 'multi-send';
  inputs: { address: string; coins: CosmosCoin[] }[];
  outputs: { address: string; coins: CosmosCoin[] }[];
}

/** cosmwasm.wasm.v1.MsgExecuteContract */
export interface CosmosExecuteContract extends MessageBase {
  kind: 'execute-contract';
  sender: string;
  contract: string;
  funds: CosmosCoin[];
  /** The contract message, parsed JSON. */
  msg: unknown;
  /** The single top-level key of `msg` when it is an object with exactly one key (the CosmWasm execute variant), else null. */
  method: string | null;
}

/** ibc.applications.transfer.v1.MsgTransfer: tokens sent to another chain. */
export interface CosmosIbcTransfer extends MessageBase {
  kind: 'ibc-transfer';
  sender: string;
  receiver: string;
  token: CosmosCoin;
  sourcePort: string;
  sourceChannel: string;
}

/** cosmos.authz.v1beta1.MsgExec: `grantee` executes `messages` on behalf of their signers. Decoded recursively. */
export interface CosmosExec extends MessageBase {
  kind: 'exec';
  grantee: string;
  messages: CosmosMessage[];
}

/** Any other message, listed by type. */
export interface CosmosUnknownMessage extends MessageBase {
  kind: 'unknown';
}

export type CosmosMessage = CosmosSend | CosmosMultiSend | CosmosExecuteContract | CosmosIbcTransfer | CosmosExec | CosmosUnknownMessage;

export interface CosmosSignerInfo {
  /** Type URL of the public key, or null when the signer info carries none (account already on chain). */
  publicKeyTypeUrl: string | null;
  /** Base64 of the raw key (33-byte compressed point for secp256k1), or of the Any value for other key types. */
  publicKey: string | null;
  sequence: string;
  /** SignMode enum name for single signers (e.g. 'SIGN_MODE_DIRECT'), 'multi' for multisig, null when absent. */
  signMode: string | null;
}

export interface CosmosFee {
  amount: CosmosCoin[];
  gasLimit: string;
  payer: string;
  granter: string;
}

export interface CosmosSummary {
  chain: 'cosmos';
  signMode: 'direct' | 'amino-json';
  chainId: string;
  accountNumber: string;
  /** The signing key's sequence when known (amino; direct with opts.signer), else the first signer info's; null if none. */
  sequence: string | null;
  /** Signer infos of a direct SignDoc, in order; empty for amino JSON (which carries no keys). */
  signers: CosmosSignerInfo[];
  fee: CosmosFee;
  /** AuthInfo.tip (Cosmos SDK 0.46-0.47, deprecated): coins the tipper pays the fee payer. Null when absent (always for amino). */
  tip: { amount: CosmosCoin[]; tipper: string } | null;
  memo: string;
  timeoutHeight: string;
  /** Type URLs of extension options (direct only); chains reject unknown critical ones. */
  extensionOptions: string[];
  messages: CosmosMessage[];
  /** Every message type, nested ones included, depth-first: type URL, or 'amino:<type>' for an unknown amino type. */
  messageTypes: string[];
  /** Coins leaving through all messages, nested ones included (send, multi-send inputs, contract funds, IBC), by denom. Fees are in `fee`. */
  totals: AssetAmount[];
}

export interface CosmosDecodeOptions {
  /** SubjectPublicKeyInfo of the signing key (secp256k1); when given it must be among the signer infos. */
  signer?: Uint8Array;
}
