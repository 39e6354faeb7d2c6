/**
 * Instruction data of the System and SPL Token programs. Both programs read their fixed fields
 * from the front of the data and ignore anything after them (bincode `allow_trailing_bytes` in
 * `limited_deserialize`; `TokenInstruction::unpack`), so decoding here does the same: a Transfer
 * with junk appended still moves lamports and must still be counted. Data too short for a
 * value-moving instruction, or too few accounts, is SOLANA_MALFORMED_INSTRUCTION.
 */
import { readUintLE } from '../bytes';
import { fail } from '../errors';
import type { SolanaInstruction, SolanaSystemTransfer, SolanaTokenTransfer } from './types';

export const SYSTEM_PROGRAM_ID = '11111111111111111111111111111111';
export const TOKEN_PROGRAM_ID = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
export const TOKEN_2022_PROGRAM_ID = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';

/** solana-system-interface SystemInstruction variants, by their u32 LE tag. */
const SYSTEM_NAMES = [
  'CreateAccount',
  'Assign',
  'Transfer',
  'CreateAccountWithSeed',
  'AdvanceNonceAccount',
  'WithdrawNonceAccount',
  'InitializeNonceAccount',
  'AuthorizeNonceAccount',
  'Allocate',
  'AllocateWithSeed',
  'AssignWithSeed',
  'TransferWithSeed',
  'UpgradeNonceAccount',
] as const;

/** spl-token TokenInstruction variants by their u8 tag (shared by Token-2022 up to 24). */
const TOKEN_NAMES = [
  'InitializeMint',
  'InitializeAccount',
  'InitializeMultisig',
  'Transfer',
  'Approve',
  'Revoke',
  'SetAuthority',
  'MintTo',
  'Burn',
  'CloseAccount',
  'FreezeAccount',
  'ThawAccount',
  'TransferChecked',
  'ApproveChecked',
  'MintToChecked',
  'BurnChecked',
  'InitializeAccount2',
  'SyncNative',
  'InitializeAccount3',
  'InitializeMultisig2',
  'InitializeMint2',
  'GetAccountDataSize',
  'InitializeImmutableOwner',
  'AmountToUiAmount',
  'UiAmountToAmount',
] as const;

/** Token-2022 TransferFeeExtension (tag 26), sub-instruction TransferCheckedWithFee (1). */
const TOKEN_2022_TRANSFER_FEE_EXTENSION = 26;
const TRANSFER_CHECKED_WITH_FEE = 1;

export function decodeInstruction(programId: string, accounts: string[], data: Uint8Array): SolanaInstruction {
  if (programId === SYSTEM_PROGRAM_ID) return decodeSystem(programId, accounts, data);
  if (programId === TOKEN_PROGRAM_ID || programId === TOKEN_2022_PROGRAM_ID) return decodeToken(programId, accounts, data);
  return { kind: 'other', programId, name: null, dataLength: data.length, accounts };
}

function need(ok: boolean, what: string): void {
  if (!ok) fail('SOLANA_MALFORMED_INSTRUCTION', what);
}

function decodeSystem(programId: string, accounts: string[], data: Uint8Array): SolanaInstruction {
  const tag = data.length >= 4 ? Number(readUintLE(data, 0, 4)) : -1;
  const name = SYSTEM_NAMES[tag];
  // (offset of the u64 lamports, index of the source account, index of the destination account)
  let layout: [number, number, number];
  let instruction: SolanaSystemTransfer['instruction'];
  switch (name) {
    case 'CreateAccount': // lamports, space, owner; [funding, new account]
    case 'Transfer': // lamports; [from, to]
    case 'WithdrawNonceAccount': // lamports; [nonce account, recipient, recent blockhashes, rent, authority]
      instruction = name;
      layout = [4, 0, 1];
      break;
    case 'TransferWithSeed': // lamports, from_seed, from_owner; [from (derived), base, to]
      instruction = name;
      layout = [4, 0, 2];
      break;
    case 'CreateAccountWithSeed': {
      instruction = name;
      // base: Pubkey, seed: String (u64 LE length + bytes), lamports, space, owner; [funding, new account, base?]
      need(data.length >= 4 + 32 + 8, 'System CreateAccountWithSeed data too short');
      const seedLength = readUintLE(data, 36, 8);
      need(seedLength <= BigInt(data.length), 'System CreateAccountWithSeed seed longer than the data');
      layout = [4 + 32 + 8 + Number(seedLength), 0, 1];
      break;
    }
    default:
      return { kind: 'other', programId, name: name ? `system:${name}` : null, dataLength: data.length, accounts };
  }
  const [offset, fromIndex, toIndex] = layout;
  need(data.length >= offset + 8, `System ${instruction} data too short`);
  need(accounts.length > Math.max(fromIndex, toIndex), `System ${instruction} has too few accounts`);
  const transfer: SolanaSystemTransfer = {
    kind: 'system-transfer',
    programId,
    instruction,
    from: accounts[fromIndex]!,
    to: accounts[toIndex]!,
    lamports: readUintLE(data, offset, 8).toString(),
  };
  return transfer;
}

function decodeToken(programId: string, accounts: string[], data: Uint8Array): SolanaInstruction {
  const tag = data.length >= 1 ? data[0]! : -1;
  const base = { kind: 'spl-token-transfer' as const, programId };
  let transfer: SolanaTokenTransfer;
  if (tag === 3) {
    // Transfer { amount: u64 }; [source, destination, authority, ...multisig signers]
    need(data.length >= 9, 'SPL Token Transfer data too short');
    need(accounts.length >= 3, 'SPL Token Transfer has too few accounts');
    transfer = {
      ...base,
      instruction: 'Transfer',
      amount: readUintLE(data, 1, 8).toString(),
      mint: null,
      decimals: null,
      source: accounts[0]!,
      destination: accounts[1]!,
      authority: accounts[2]!,
    };
  } else if (tag === 12) {
    // TransferChecked { amount: u64, decimals: u8 }; [source, mint, destination, authority, ...signers]
    need(data.length >= 10, 'SPL Token TransferChecked data too short');
    need(accounts.length >= 4, 'SPL Token TransferChecked has too few accounts');
    transfer = {
      ...base,
      instruction: 'TransferChecked',
      amount: readUintLE(data, 1, 8).toString(),
      mint: accounts[1]!,
      decimals: data[9]!,
      source: accounts[0]!,
      destination: accounts[2]!,
      authority: accounts[3]!,
    };
  } else if (programId === TOKEN_2022_PROGRAM_ID && tag === TOKEN_2022_TRANSFER_FEE_EXTENSION && data[1] === TRANSFER_CHECKED_WITH_FEE) {
    // TransferCheckedWithFee { amount: u64, decimals: u8, fee: u64 }; [source, mint, destination, authority, ...]
    need(data.length >= 2 + 8 + 1 + 8, 'Token-2022 TransferCheckedWithFee data too short');
    need(accounts.length >= 4, 'Token-2022 TransferCheckedWithFee has too few accounts');
    transfer = {
      ...base,
      instruction: 'TransferCheckedWithFee',
      amount: readUintLE(data, 2, 8).toString(),
      mint: accounts[1]!,
      decimals: data[10]!,
      source: accounts[0]!,
      destination: accounts[2]!,
      authority: accounts[3]!,
    };
  } else {
    const name = TOKEN_NAMES[tag];
    const prefix = programId === TOKEN_PROGRAM_ID ? 'spl-token' : 'spl-token-2022';
    return { kind: 'other', programId, name: name ? `${prefix}:${name}` : null, dataLength: data.length, accounts };
  }
  return transfer;
}
