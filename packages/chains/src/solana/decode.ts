import { PublicKey, VersionedMessage } from '@solana/web3.js';
import { checkBytes, equalBytes } from '../bytes';
import { type DecodeErrorCode, fail, guard } from '../errors';
import { Totals } from '../totals';
import { decodeInstruction } from './programs';
import type { SolanaAccount, SolanaDecodeOptions, SolanaInstruction, SolanaSummary } from './types';
import { MAX_ACCOUNTS, PACKET_DATA_SIZE, checkWire } from './wire';

/**
 * Decodes a Solana legacy or v0 message (the bytes a Solana key signs) into a summary: fee payer,
 * signers, every loaded account, program ids, System and SPL Token transfers, totals per asset.
 *
 * The bytes pass a strict reader first (truncation, non-minimal lengths, trailing bytes, header
 * and index rules); @solana/web3.js then deserialises them and must re-serialise them unchanged.
 * `opts.signer` must be a required signer. Lookup-table accounts are resolved only from
 * `opts.lookupTables`; a referenced table that is not supplied is SOLANA_LOOKUP_TABLE_REQUIRED.
 */
export function decodeSolanaMessage(bytes: Uint8Array, opts: SolanaDecodeOptions): SolanaSummary {
  checkBytes('bytes', bytes, PACKET_DATA_SIZE);
  if (typeof opts !== 'object' || opts === null) fail('INVALID_ARGUMENT', 'opts must be an object with a signer');
  const signer = parseAddress(opts.signer, 'INVALID_ARGUMENT', 'opts.signer');
  checkWire(bytes);

  const message = guard('SOLANA_MALFORMED', 'web3.js VersionedMessage.deserialize', () => VersionedMessage.deserialize(bytes));
  const reserialised = guard('SOLANA_MALFORMED', 'web3.js serialize', () => message.serialize());
  if (!equalBytes(reserialised, bytes)) fail('SOLANA_MALFORMED', 'web3.js reads the message differently');

  const staticKeys = message.staticAccountKeys.map((k) => k.toBase58());
  const signers = staticKeys.slice(0, message.header.numRequiredSignatures);
  if (!signers.includes(signer)) fail('SOLANA_NOT_A_SIGNER', `${signer} is not a required signer of the message`);

  const accounts: SolanaAccount[] = staticKeys.map((address, i) => ({
    address,
    signer: i < signers.length,
    writable: message.isAccountWritable(i),
    lookupTable: null,
  }));
  accounts.push(...resolveLookups(message, opts.lookupTables));
  const seen = new Set<string>();
  for (const { address } of accounts) {
    if (seen.has(address)) fail('SOLANA_DUPLICATE_ACCOUNT', `${address} is loaded twice`);
    seen.add(address);
  }

  const instructions: SolanaInstruction[] = message.compiledInstructions.map((ix) =>
    decodeInstruction(
      staticKeys[ix.programIdIndex]!,
      ix.accountKeyIndexes.map((i) => accounts[i]!.address),
      ix.data,
    ),
  );
  return {
    chain: 'solana',
    version: message.version,
    feePayer: staticKeys[0]!,
    recentBlockhash: message.recentBlockhash,
    signers,
    accounts,
    programIds: [...new Set(instructions.map((ix) => ix.programId))],
    instructions,
    totals: totalsOf(instructions),
  };
}

/** Accounts loaded through lookup tables, in the runtime's order: all writable, then all readonly. */
function resolveLookups(message: VersionedMessage, tables: SolanaDecodeOptions['lookupTables']): SolanaAccount[] {
  if (message.addressTableLookups.length === 0) return [];
  if (tables !== undefined && (typeof tables !== 'object' || tables === null || Array.isArray(tables))) {
    fail('INVALID_ARGUMENT', 'opts.lookupTables must be an object of table address → addresses');
  }
  const writable: SolanaAccount[] = [];
  const readonly: SolanaAccount[] = [];
  for (const lookup of message.addressTableLookups) {
    const table = lookup.accountKey.toBase58();
    const raw = tables !== undefined && Object.prototype.hasOwnProperty.call(tables, table) ? tables[table] : undefined;
    if (raw === undefined) fail('SOLANA_LOOKUP_TABLE_REQUIRED', `address lookup table ${table} was not supplied`);
    const contents = parseTable(table, raw);
    const pick = (i: number) => {
      if (i >= contents.length) fail('SOLANA_LOOKUP_INDEX_OUT_OF_RANGE', `index ${i} of table ${table} with ${contents.length} addresses`);
      return contents[i]!;
    };
    for (const i of lookup.writableIndexes) writable.push({ address: pick(i), signer: false, writable: true, lookupTable: table });
    for (const i of lookup.readonlyIndexes) readonly.push({ address: pick(i), signer: false, writable: false, lookupTable: table });
  }
  return [...writable, ...readonly];
}

function parseTable(table: string, raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length > MAX_ACCOUNTS) {
    fail('SOLANA_BAD_LOOKUP_TABLE', `lookup table ${table} must be an array of at most ${MAX_ACCOUNTS} addresses`);
  }
  return raw.map((a, i) => parseAddress(a, 'SOLANA_BAD_LOOKUP_TABLE', `lookup table ${table} entry ${i}`));
}

/** A base58 32-byte address in canonical form, or DecodeError `code`. */
function parseAddress(value: unknown, code: DecodeErrorCode, what: string): string {
  if (typeof value !== 'string' || value.length > 44) fail(code, `${what} must be a base58 address`);
  return guard(code, `${what} must be a base58 32-byte address`, () => {
    const key = new PublicKey(value);
    if (key.toBase58() !== value) throw new Error('not canonical base58');
    return value;
  });
}

function totalsOf(instructions: SolanaInstruction[]): SolanaSummary['totals'] {
  let lamports = 0n;
  const tokens = new Totals();
  const tokensWithoutMint = new Totals();
  for (const ix of instructions) {
    if (ix.kind === 'system-transfer') lamports += BigInt(ix.lamports);
    if (ix.kind === 'spl-token-transfer') {
      if (ix.mint !== null) tokens.add(ix.mint, BigInt(ix.amount));
      else tokensWithoutMint.add(ix.source, BigInt(ix.amount));
    }
  }
  return { lamports: lamports.toString(), tokens: tokens.list(), tokensWithoutMint: tokensWithoutMint.list() };
}
