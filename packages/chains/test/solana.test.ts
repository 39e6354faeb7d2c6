// Solana messages built by @solana/web3.js and @solana/spl-token, decoded and compared; signatures
// made with @noble/curves ed25519 and verified by web3.js.
import { ed25519 } from '@noble/curves/ed25519';
import {
  AddressLookupTableAccount,
  ComputeBudgetProgram,
  Keypair,
  Message,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
} from '@solana/web3.js';
import { SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, decodeSolanaMessage } from '../src';
import { codeOf, fixedSecret } from './helpers';
import { spl } from './spl-token';

const {
  TOKEN_2022_PROGRAM_ID: SPL_TOKEN_2022,
  TOKEN_PROGRAM_ID: SPL_TOKEN,
  createApproveInstruction,
  createTransferCheckedInstruction,
  createTransferInstruction,
} = spl;

const key = (n: number) => Keypair.fromSeed(fixedSecret(n));
const payer = key(1);
const alice = key(2).publicKey;
const bob = key(3).publicKey;
const mint = key(4).publicKey;
const sourceAta = key(5).publicKey;
const destAta = key(6).publicKey;
const blockhash = key(7).publicKey.toBase58();
const signer = payer.publicKey.toBase58();

function legacy(instructions: TransactionInstruction[], payerKey = payer.publicKey): Uint8Array {
  // A copy: web3.js returns a Buffer, whose slice() shares memory.
  return Uint8Array.from(new TransactionMessage({ payerKey, recentBlockhash: blockhash, instructions }).compileToLegacyMessage().serialize());
}

describe('legacy messages', () => {
  test('a System transfer built by web3.js decodes to its fields, and a noble signature verifies in web3.js', () => {
    const bytes = legacy([SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: alice, lamports: 1_500_000_000n })]);
    const s = decodeSolanaMessage(bytes, { signer });
    expect(s).toMatchObject({
      chain: 'solana',
      version: 'legacy',
      feePayer: signer,
      recentBlockhash: blockhash,
      signers: [signer],
      programIds: [SYSTEM_PROGRAM_ID],
      instructions: [{ kind: 'system-transfer', instruction: 'Transfer', from: signer, to: alice.toBase58(), lamports: '1500000000' }],
      totals: { lamports: '1500000000', tokens: [], tokensWithoutMint: [] },
    });
    expect(s.accounts.map((a) => [a.address, a.signer, a.writable])).toEqual([
      [signer, true, true],
      [alice.toBase58(), false, true],
      [SYSTEM_PROGRAM_ID, false, false],
    ]);

    // What the gateway would do once the decode passed: sign the exact bytes with the Ed25519 key.
    const signature = ed25519.sign(bytes, payer.secretKey.subarray(0, 32));
    const tx = Transaction.populate(Message.from(bytes));
    tx.addSignature(payer.publicKey, Buffer.from(signature));
    expect(tx.verifySignatures()).toBe(true);
    expect(Buffer.from(tx.serializeMessage()).equals(Buffer.from(bytes))).toBe(true);
  });

  test('every System instruction that moves lamports is counted: CreateAccount, TransferWithSeed, WithdrawNonceAccount', () => {
    const seedBase = payer.publicKey;
    const derived = key(8).publicKey;
    const nonce = key(9).publicKey;
    const bytes = legacy([
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: alice, lamports: 10, space: 165, programId: SPL_TOKEN }),
      SystemProgram.transfer({ fromPubkey: derived, basePubkey: seedBase, toPubkey: bob, lamports: 20, seed: 'seed', programId: SystemProgram.programId }),
      SystemProgram.nonceWithdraw({ noncePubkey: nonce, authorizedPubkey: payer.publicKey, toPubkey: bob, lamports: 30 }),
      SystemProgram.assign({ accountPubkey: payer.publicKey, programId: SPL_TOKEN }),
    ]);
    const s = decodeSolanaMessage(bytes, { signer });
    expect(
      s.instructions.map((ix) =>
        ix.kind === 'system-transfer' ? [ix.instruction, ix.from, ix.to, ix.lamports] : ix.kind === 'other' ? [ix.kind, ix.name] : [ix.kind],
      ),
    ).toEqual([
      ['CreateAccount', signer, alice.toBase58(), '10'],
      ['TransferWithSeed', derived.toBase58(), bob.toBase58(), '20'],
      ['WithdrawNonceAccount', nonce.toBase58(), bob.toBase58(), '30'],
      ['other', 'system:Assign'],
    ]);
    expect(s.totals.lamports).toBe('60');
  });

  test('CreateAccountWithSeed reads lamports after the variable-length seed', () => {
    const created = key(10).publicKey;
    const bytes = legacy([
      SystemProgram.createAccountWithSeed({
        fromPubkey: payer.publicKey,
        newAccountPubkey: created,
        basePubkey: payer.publicKey,
        seed: 'a-longer-seed-string',
        lamports: 4242,
        space: 0,
        programId: SystemProgram.programId,
      }),
    ]);
    const [ix] = decodeSolanaMessage(bytes, { signer }).instructions;
    expect(ix).toMatchObject({ kind: 'system-transfer', instruction: 'CreateAccountWithSeed', from: signer, to: created.toBase58(), lamports: '4242' });
  });

  test('SPL Token transfer, transferChecked and Token-2022 transferChecked: amounts, mints, totals by mint', () => {
    const bytes = legacy([
      createTransferInstruction(sourceAta, destAta, payer.publicKey, 5_000n),
      createTransferCheckedInstruction(sourceAta, mint, destAta, payer.publicKey, 18_446_744_073_709_551_615n, 6),
      createTransferCheckedInstruction(sourceAta, mint, destAta, payer.publicKey, 1n, 6, [], SPL_TOKEN_2022),
      createApproveInstruction(sourceAta, alice, payer.publicKey, 7n),
    ]);
    const s = decodeSolanaMessage(bytes, { signer });
    expect(s.programIds).toEqual([TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID]);
    expect(s.instructions).toEqual([
      {
        kind: 'spl-token-transfer',
        programId: TOKEN_PROGRAM_ID,
        instruction: 'Transfer',
        amount: '5000',
        mint: null,
        decimals: null,
        source: sourceAta.toBase58(),
        destination: destAta.toBase58(),
        authority: signer,
      },
      {
        kind: 'spl-token-transfer',
        programId: TOKEN_PROGRAM_ID,
        instruction: 'TransferChecked',
        amount: '18446744073709551615',
        mint: mint.toBase58(),
        decimals: 6,
        source: sourceAta.toBase58(),
        destination: destAta.toBase58(),
        authority: signer,
      },
      {
        kind: 'spl-token-transfer',
        programId: TOKEN_2022_PROGRAM_ID,
        instruction: 'TransferChecked',
        amount: '1',
        mint: mint.toBase58(),
        decimals: 6,
        source: sourceAta.toBase58(),
        destination: destAta.toBase58(),
        authority: signer,
      },
      { kind: 'other', programId: TOKEN_PROGRAM_ID, name: 'spl-token:Approve', dataLength: 9, accounts: [sourceAta.toBase58(), alice.toBase58(), signer] },
    ]);
    expect(s.totals).toEqual({
      lamports: '0',
      tokens: [{ asset: mint.toBase58(), amount: '18446744073709551616' }],
      tokensWithoutMint: [{ asset: sourceAta.toBase58(), amount: '5000' }],
    });
  });

  test('Token-2022 TransferCheckedWithFee is a transfer', () => {
    const data = Buffer.alloc(19);
    data[0] = 26;
    data[1] = 1;
    data.writeBigUInt64LE(900n, 2);
    data[10] = 9;
    data.writeBigUInt64LE(3n, 11);
    const ix = new TransactionInstruction({
      programId: SPL_TOKEN_2022,
      data,
      keys: [sourceAta, mint, destAta, payer.publicKey].map((pubkey, i) => ({ pubkey, isSigner: i === 3, isWritable: i !== 1 })),
    });
    const s = decodeSolanaMessage(legacy([ix]), { signer });
    expect(s.instructions[0]).toMatchObject({
      kind: 'spl-token-transfer',
      instruction: 'TransferCheckedWithFee',
      amount: '900',
      mint: mint.toBase58(),
      decimals: 9,
    });
  });

  test('a transfer with junk after its fields still moves lamports (the program ignores trailing data), so it is counted', () => {
    const base = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: alice, lamports: 77 });
    const padded = new TransactionInstruction({ programId: base.programId, keys: base.keys, data: Buffer.concat([base.data, Buffer.alloc(20, 0xee)]) });
    const s = decodeSolanaMessage(legacy([padded]), { signer });
    expect(s.instructions[0]).toMatchObject({ kind: 'system-transfer', lamports: '77' });
  });

  test('a System or Token transfer with short data or too few accounts is refused, not listed as "other"', () => {
    const short = new TransactionInstruction({
      programId: SystemProgram.programId,
      keys: [
        { pubkey: payer.publicKey, isSigner: true, isWritable: true },
        { pubkey: alice, isSigner: false, isWritable: true },
      ],
      data: Buffer.from([2, 0, 0, 0, 1]),
    });
    expect(codeOf(() => decodeSolanaMessage(legacy([short]), { signer }))).toBe('SOLANA_MALFORMED_INSTRUCTION');
    const oneAccount = new TransactionInstruction({
      programId: SPL_TOKEN,
      keys: [{ pubkey: payer.publicKey, isSigner: true, isWritable: true }],
      data: Buffer.from([3, 1, 0, 0, 0, 0, 0, 0, 0]),
    });
    expect(codeOf(() => decodeSolanaMessage(legacy([oneAccount]), { signer }))).toBe('SOLANA_MALFORMED_INSTRUCTION');
  });

  test('other programs are listed by program id and data length', () => {
    const s = decodeSolanaMessage(legacy([ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 })]), { signer });
    expect(s.instructions).toEqual([{ kind: 'other', programId: 'ComputeBudget111111111111111111111111111111', name: null, dataLength: 5, accounts: [] }]);
  });

  test('the signer must be a required signer; a second signer is accepted', () => {
    const cosigner = key(11).publicKey;
    const bytes = legacy([SystemProgram.transfer({ fromPubkey: cosigner, toPubkey: alice, lamports: 1 })]);
    const s = decodeSolanaMessage(bytes, { signer: cosigner.toBase58() });
    expect(s.signers).toEqual([signer, cosigner.toBase58()]);
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer: alice.toBase58() }))).toBe('SOLANA_NOT_A_SIGNER');
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer: 'not base58!' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => decodeSolanaMessage(bytes, undefined as never))).toBe('INVALID_ARGUMENT');
  });
});

describe('v0 messages and address lookup tables', () => {
  const tableKey = key(20).publicKey;
  const tableAddresses = [key(21).publicKey, alice, mint, destAta, key(22).publicKey];
  const table = new AddressLookupTableAccount({
    key: tableKey,
    state: { deactivationSlot: 2n ** 64n - 1n, lastExtendedSlot: 0, lastExtendedSlotStartIndex: 0, addresses: tableAddresses },
  });
  const bytes = new TransactionMessage({
    payerKey: payer.publicKey,
    recentBlockhash: blockhash,
    instructions: [
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: alice, lamports: 999 }),
      createTransferCheckedInstruction(sourceAta, mint, destAta, payer.publicKey, 250n, 9),
    ],
  })
    .compileToV0Message([table])
    .serialize();
  const tables = { [tableKey.toBase58()]: tableAddresses.map((a) => a.toBase58()) };

  test('resolves lookup-table accounts from caller-supplied tables', () => {
    expect(bytes[0]).toBe(0x80);
    const s = decodeSolanaMessage(bytes, { signer, lookupTables: tables });
    expect(s.version).toBe(0);
    expect(s.instructions).toMatchObject([
      { kind: 'system-transfer', from: signer, to: alice.toBase58(), lamports: '999' },
      { kind: 'spl-token-transfer', instruction: 'TransferChecked', mint: mint.toBase58(), destination: destAta.toBase58(), amount: '250' },
    ]);
    const fromTable = s.accounts.filter((a) => a.lookupTable !== null);
    expect(fromTable.map((a) => [a.address, a.writable, a.lookupTable])).toEqual([
      [alice.toBase58(), true, tableKey.toBase58()],
      [destAta.toBase58(), true, tableKey.toBase58()],
      [mint.toBase58(), false, tableKey.toBase58()],
    ]);
    expect(s.totals).toEqual({ lamports: '999', tokens: [{ asset: mint.toBase58(), amount: '250' }], tokensWithoutMint: [] });
  });

  test('without the table the message is refused; a short or malformed table too', () => {
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer }))).toBe('SOLANA_LOOKUP_TABLE_REQUIRED');
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer, lookupTables: { [alice.toBase58()]: [] } }))).toBe('SOLANA_LOOKUP_TABLE_REQUIRED');
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer, lookupTables: { [tableKey.toBase58()]: tables[tableKey.toBase58()]!.slice(0, 2) } }))).toBe(
      'SOLANA_LOOKUP_INDEX_OUT_OF_RANGE',
    );
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer, lookupTables: { [tableKey.toBase58()]: ['x', 'y', 'z', 'w'] } }))).toBe('SOLANA_BAD_LOOKUP_TABLE');
  });

  test('a table that repeats a static key loads an account twice and is refused', () => {
    const dup = [...tableAddresses.map((a) => a.toBase58())];
    dup[1] = signer;
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer, lookupTables: { [tableKey.toBase58()]: dup } }))).toBe('SOLANA_DUPLICATE_ACCOUNT');
  });

  test('a v0 message signed with noble verifies against the message bytes', () => {
    const sig = ed25519.sign(bytes, payer.secretKey.subarray(0, 32));
    expect(ed25519.verify(sig, bytes, payer.publicKey.toBytes())).toBe(true);
  });
});

describe('malformed bytes', () => {
  const transfer = legacy([SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: alice, lamports: 5 })]);
  // Legacy layout: header(3) | 1 byte key count (3) | 3 × 32 keys | 32 blockhash | ix count | program idx | n accounts | accounts | data len | data
  const ixStart = 3 + 1 + 3 * 32 + 32 + 1;
  const mutate = (f: (b: Uint8Array) => void) => {
    const b = transfer.slice();
    f(b);
    return b;
  };

  test.each([
    ['trailing byte', Uint8Array.from([...transfer, 0]), 'SOLANA_TRAILING_BYTES'],
    ['truncated', transfer.subarray(0, transfer.length - 1), 'SOLANA_MALFORMED'],
    ['truncated in the keys', transfer.subarray(0, 40), 'SOLANA_MALFORMED'],
    ['empty', new Uint8Array(0), 'SOLANA_MALFORMED'],
    [
      'account index out of range',
      mutate((b) => {
        b[ixStart + 2] = 3;
      }),
      'SOLANA_ACCOUNT_INDEX_OUT_OF_RANGE',
    ],
    [
      'program id index 0 (the fee payer)',
      mutate((b) => {
        b[ixStart] = 0;
      }),
      'SOLANA_INVALID_PROGRAM_INDEX',
    ],
    [
      'program id index out of range',
      mutate((b) => {
        b[ixStart] = 9;
      }),
      'SOLANA_INVALID_PROGRAM_INDEX',
    ],
    [
      'no required signer',
      mutate((b) => {
        b[0] = 0;
      }),
      'SOLANA_MALFORMED',
    ],
    [
      'readonly signers ≥ signers',
      mutate((b) => {
        b[1] = 1;
      }),
      'SOLANA_MALFORMED',
    ],
    ['version 1', Uint8Array.from([0x81, ...transfer]), 'SOLANA_UNSUPPORTED_VERSION'],
    [
      'duplicate account key',
      mutate((b) => {
        b.set(b.subarray(4, 36), 36);
      }),
      'SOLANA_DUPLICATE_ACCOUNT',
    ],
    ['non-minimal compact-u16', Uint8Array.from([...transfer.subarray(0, 3), 0x83, 0x00, ...transfer.subarray(4)]), 'SOLANA_MALFORMED'],
    ['over the packet size', new Uint8Array(1233), 'MESSAGE_TOO_LARGE'],
  ] as const)('%s', (_name, bytes, code) => {
    expect(codeOf(() => decodeSolanaMessage(bytes, { signer }))).toBe(code);
  });

  test('a v0 lookup that loads no account is refused', () => {
    // v0 prefix, header, 1 key, blockhash, 0 instructions, 1 lookup with no indexes.
    const b = Uint8Array.from([0x80, 1, 0, 0, 1, ...payer.publicKey.toBytes(), ...new PublicKey(blockhash).toBytes(), 0, 1, ...alice.toBytes(), 0, 0]);
    expect(codeOf(() => decodeSolanaMessage(b, { signer }))).toBe('SOLANA_MALFORMED');
  });

  test('bytes must be a Uint8Array', () => {
    expect(codeOf(() => decodeSolanaMessage('abc' as never, { signer }))).toBe('INVALID_ARGUMENT');
  });
});
