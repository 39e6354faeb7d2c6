/**
 * Steps 5-7 of the evaluation for one chain: decode the message as what the policy says the key
 * signs (packages/chains), apply the allowlists, and add up what leaves the account per asset.
 * Each function throws PolicyDenial on the first rule that fails; the per-transaction caps are
 * applied by the engine on the `spend` they return.
 */
import {
  DecodeError,
  SYSTEM_PROGRAM_ID,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  decodeCosmosAminoSignDoc,
  decodeCosmosSignDoc,
  decodeEip712,
  decodeEthereumTransaction,
  decodeSolanaMessage,
  deriveAddress,
  type CosmosMessage,
  type CosmosSummary,
  type Eip712Summary,
  type EthereumTransactionSummary,
  type SolanaSummary,
} from '@kmsgate/chains';
import { parseAmount } from './amount';
import { PolicyDenial, type ReasonCode } from './reasons';
import { NATIVE_ASSET, type CosmosSigningPolicy, type EthereumSigningPolicy, type SolanaSigningPolicy } from './schema';

export type DecodedSummary = SolanaSummary | CosmosSummary | EthereumTransactionSummary | Eip712Summary;

export interface Assessment {
  summary: DecodedSummary;
  /** Everything that leaves the account in this message, per asset (fees included where the message carries them). */
  spend: Map<string, bigint>;
  /** What the device signs when AWS's rule for the algorithm does not give it (Ethereum: the keccak-256 signing hash). */
  digest?: Uint8Array;
}

/** Spend per asset, as a Map so an asset called "__proto__" is just a name. */
class Spend {
  readonly map = new Map<string, bigint>();
  add(asset: string, amount: string | bigint): void {
    const v = typeof amount === 'bigint' ? amount : parseAmount(amount);
    // The decoders only emit canonical amounts; anything else is a decoder bug, and a bug must deny.
    if (v === undefined) throw new PolicyDenial('INVALID_ARGUMENT', 'decode', `amount ${JSON.stringify(amount)} of ${asset} is not canonical`);
    if (v === 0n) return;
    this.map.set(asset, (this.map.get(asset) ?? 0n) + v);
  }
}

function deny(code: ReasonCode, detail: string, summary: DecodedSummary): never {
  throw new PolicyDenial(code, 'policy', detail, summary);
}

/** Runs a decoder; its DecodeError becomes a denial with the decoder's code, in the decode gate. */
function decoded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) throw new PolicyDenial(e.code, 'decode', e.message);
    throw e;
  }
}

function allowed(list: readonly string[] | undefined, value: string): boolean {
  return list === undefined || list.includes(value);
}

// ---------------------------------------------------------------------------------------------
// Solana

/** Programs whose instructions the decoder reads: everything of theirs that is not a transfer must be listed by name. */
const DECODED_PROGRAMS: ReadonlySet<string> = new Set([SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID]);

export function assessSolana(policy: SolanaSigningPolicy, message: Uint8Array, spki: Uint8Array): Assessment {
  const signer = decoded(() => deriveAddress('solana', spki));
  const summary = decoded(() => decodeSolanaMessage(message, { signer, ...(policy.lookupTables ? { lookupTables: policy.lookupTables } : {}) }));
  for (const program of summary.programIds) {
    if (!policy.programs.includes(program)) deny('PROGRAM_NOT_ALLOWED', `program ${program} is not in programs`, summary);
  }
  const spend = new Spend();
  for (const ix of summary.instructions) {
    if (ix.kind === 'other' && DECODED_PROGRAMS.has(ix.programId)) {
      // The decoder knows these programs: anything of theirs it does not decode as a transfer
      // (Assign, SetAuthority, Approve, CloseAccount… or a tag it cannot name) must be listed.
      if (ix.name === null || !(policy.instructions ?? []).includes(ix.name)) {
        deny(
          'INSTRUCTION_NOT_ALLOWED',
          `${ix.name ?? `an instruction the decoder cannot name (${ix.dataLength} bytes of data)`} of program ${ix.programId} is not in instructions`,
          summary,
        );
      }
    } else if (ix.kind === 'system-transfer') {
      if (!allowed(policy.recipients, ix.to)) deny('RECIPIENT_NOT_ALLOWED', `System ${ix.instruction} to ${ix.to}`, summary);
      spend.add(NATIVE_ASSET, ix.lamports);
    } else if (ix.kind === 'spl-token-transfer') {
      if (!allowed(policy.recipients, ix.destination)) deny('RECIPIENT_NOT_ALLOWED', `SPL Token ${ix.instruction} to ${ix.destination}`, summary);
      const mint = ix.mint ?? policy.tokenAccounts?.[ix.source];
      if (mint === undefined)
        deny('TOKEN_MINT_UNKNOWN', `SPL Token Transfer from token account ${ix.source}, which tokenAccounts does not map to a mint`, summary);
      // A checked transfer names its mint; if tokenAccounts maps the source too, the two must agree.
      const mapped = policy.tokenAccounts?.[ix.source];
      if (mapped !== undefined && mapped !== mint)
        deny('TOKEN_MINT_UNKNOWN', `token account ${ix.source} holds ${mapped} per tokenAccounts, but the instruction names mint ${mint}`, summary);
      spend.add(mint, ix.amount);
    }
  }
  return { summary, spend: spend.map };
}

// ---------------------------------------------------------------------------------------------
// Cosmos

const LEFT_BRACE = 0x7b;

export function assessCosmos(policy: CosmosSigningPolicy, message: Uint8Array, spki: Uint8Array): Assessment {
  // Amino JSON is a JSON object; a protobuf SignDoc starts with field 1 (0x0a). Which decoder runs
  // is decided by the policy's sign modes before any decoding.
  const mode = message[0] === LEFT_BRACE ? 'amino-json' : 'direct';
  if (!policy.signModes.includes(mode)) throw new PolicyDenial('SIGN_MODE_NOT_ALLOWED', 'policy', `sign mode ${mode} is not in signModes`);
  const summary = decoded(() => (mode === 'direct' ? decodeCosmosSignDoc(message, { signer: spki }) : decodeCosmosAminoSignDoc(message)));
  if (!policy.chainIds.includes(summary.chainId)) deny('CHAIN_ID_NOT_ALLOWED', `chain id ${JSON.stringify(summary.chainId)} is not in chainIds`, summary);
  for (const type of summary.messageTypes) {
    if (!policy.messageTypes.includes(type)) deny('TYPE_URL_NOT_ALLOWED', `message type ${type} is not in messageTypes`, summary);
  }
  const walk = (messages: readonly CosmosMessage[]) => {
    for (const m of messages) {
      switch (m.kind) {
        case 'send':
          if (!allowed(policy.recipients, m.to)) deny('RECIPIENT_NOT_ALLOWED', `MsgSend to ${m.to}`, summary);
          break;
        case 'multi-send':
          for (const out of m.outputs)
            if (!allowed(policy.recipients, out.address)) deny('RECIPIENT_NOT_ALLOWED', `MsgMultiSend output to ${out.address}`, summary);
          break;
        case 'ibc-transfer':
          if (!allowed(policy.recipients, m.receiver)) deny('RECIPIENT_NOT_ALLOWED', `IBC MsgTransfer to ${m.receiver}`, summary);
          break;
        case 'execute-contract':
          if (!(policy.contracts ?? []).includes(m.contract)) deny('CONTRACT_NOT_ALLOWED', `MsgExecuteContract on ${m.contract}`, summary);
          break;
        case 'exec':
          walk(m.messages);
          break;
        default:
          break;
      }
    }
  };
  walk(summary.messages);
  const spend = new Spend();
  // Coins leaving through every message, nested ones included, then the fee and the (deprecated) tip.
  for (const { asset, amount } of summary.totals) spend.add(asset, amount);
  for (const coin of summary.fee.amount) spend.add(coin.denom, coin.amount);
  for (const coin of summary.tip?.amount ?? []) spend.add(coin.denom, coin.amount);
  return { summary, spend: spend.map };
}

// ---------------------------------------------------------------------------------------------
// Ethereum

export function assessEthereum(policy: EthereumSigningPolicy, message: Uint8Array): Assessment {
  return message[0] === LEFT_BRACE ? assessEip712(policy, message) : assessTransaction(policy, message);
}

function assessTransaction(policy: EthereumSigningPolicy, message: Uint8Array): Assessment {
  const summary = decoded(() => decodeEthereumTransaction(message));
  if (!policy.chainIds.includes(summary.chainId)) deny('CHAIN_ID_NOT_ALLOWED', `chain id ${summary.chainId} is not in chainIds`, summary);
  const spend = new Spend();
  // The most the transaction can cost: its value plus gas limit × fee per gas, all in wei.
  spend.add(NATIVE_ASSET, summary.value);
  spend.add(NATIVE_ASSET, summary.maxFee);
  const call = summary.call;
  const contracts = policy.contracts ?? [];
  switch (call.kind) {
    case 'native-transfer':
      if (!allowed(policy.recipients, summary.to!)) deny('RECIPIENT_NOT_ALLOWED', `transfer to ${summary.to}`, summary);
      break;
    case 'contract-creation':
      if (!policy.allowContractCreation) deny('CONTRACT_CREATION_NOT_ALLOWED', 'the transaction deploys a contract', summary);
      break;
    case 'erc20-transfer':
    case 'erc20-transfer-from':
      knownToken(policy, call.token, summary);
      if (!allowed(policy.recipients, call.to))
        deny('RECIPIENT_NOT_ALLOWED', `ERC-20 ${call.kind === 'erc20-transfer' ? 'transfer' : 'transferFrom'} of ${call.token} to ${call.to}`, summary);
      spend.add(call.token, call.amount);
      break;
    case 'erc20-approve':
      // An approval lets the spender move the tokens later without another signature: it is
      // counted as spent, and the spender must be a contract the policy lists.
      knownToken(policy, call.token, summary);
      if (!contracts.includes(call.spender)) deny('CONTRACT_NOT_ALLOWED', `ERC-20 approve of ${call.token} for spender ${call.spender}`, summary);
      spend.add(call.token, call.amount);
      break;
    case 'contract-call':
      if (!contracts.includes(summary.to!)) deny('CONTRACT_NOT_ALLOWED', `call to ${summary.to} (selector ${call.selector ?? 'none'})`, summary);
      break;
  }
  if (summary.value !== '0' && call.kind !== 'native-transfer' && call.kind !== 'contract-creation' && call.kind !== 'contract-call') {
    // Ether sent along with an ERC-20 call goes to the token contract: it must be listed as a contract.
    if (!contracts.includes(summary.to!)) deny('CONTRACT_NOT_ALLOWED', `${summary.value} wei sent to token contract ${summary.to}`, summary);
  }
  return { summary, spend: spend.map, digest: hexBytes(summary.signingHash) };
}

/**
 * The decoder classifies calldata by its selector, so "transfer" on a contract that is not a token
 * the policy knows could be anything: the contract must be under caps or in contracts, even for a
 * zero amount (which adds nothing to spend and so would pass the caps untouched).
 */
function knownToken(policy: EthereumSigningPolicy, token: string, summary: DecodedSummary): void {
  const capped = policy.caps !== undefined && Object.prototype.hasOwnProperty.call(policy.caps, token);
  if (!capped && !(policy.contracts ?? []).includes(token))
    deny('ASSET_NOT_ALLOWED', `ERC-20 call on ${token}, which is neither under caps nor in contracts`, summary);
}

function assessEip712(policy: EthereumSigningPolicy, message: Uint8Array): Assessment {
  const summary = decoded(() => decodeEip712(message));
  if (policy.typedData === undefined || !policy.typedData.primaryTypes.includes(summary.primaryType)) {
    deny('TYPED_DATA_NOT_ALLOWED', `EIP-712 primaryType ${summary.primaryType} is not in typedData.primaryTypes`, summary);
  }
  const chainId = summary.domain.chainId;
  if (chainId === undefined || !policy.chainIds.includes(chainId))
    deny('CHAIN_ID_NOT_ALLOWED', `EIP-712 domain chainId ${chainId ?? '(none)'} is not in chainIds`, summary);
  const contract = summary.domain.verifyingContract;
  if (contract !== undefined && !(policy.contracts ?? []).includes(contract))
    deny('CONTRACT_NOT_ALLOWED', `EIP-712 verifyingContract ${contract} is not in contracts`, summary);
  return { summary, spend: new Map(), digest: hexBytes(summary.digest) };
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replace(/^0x/, ''), 'hex'));
}

/**
 * The digest an Ethereum-policy key signs for a RAW message (a transaction's signing hash, or an
 * EIP-712 digest), without any policy rule: for Verify, so that Verify RAW checks what Sign RAW signed.
 * Throws DecodeError when the message is neither.
 */
export function ethereumSigningDigest(message: Uint8Array): Uint8Array {
  return hexBytes(message[0] === LEFT_BRACE ? decodeEip712(message).digest : decodeEthereumTransaction(message).signingHash);
}
