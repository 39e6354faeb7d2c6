import { AddressLookupTableAccount, Keypair, PublicKey, SystemProgram, Transaction, TransactionInstruction, TransactionMessage } from '@solana/web3.js';
import type * as Spl from '@solana/spl-token' with { 'resolution-mode': 'import' };
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { addressOf, auditFor, createKeyWithAlias, deviceRequests, sign } from './helpers/signing';

// @solana/spl-token's package.json says "type": "module" but it ships CommonJS: load that build
// with require, and take only the types statically (as packages/chains/test/spl-token.ts does).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const spl = require('@solana/spl-token') as typeof Spl;

/**
 * A Solana trading agent's key behind its policy, end to end: transactions built with
 * @solana/web3.js, signed through the real gateway (Ed25519, RAW), checked with web3.js's own
 * verifySignatures(). Each gate has an accept and a deny.
 */
const MEMO = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const SYSTEM = SystemProgram.programId;
const TOKEN = spl.TOKEN_PROGRAM_ID;
const fixed = (n: number) => new PublicKey(Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i * 7) % 256));
const EXCHANGE = fixed(1);
const TREASURY = fixed(2);
const STRANGER = fixed(3);
const MINT = fixed(4);
const OTHER_MINT = fixed(5);
const MY_TOKEN_ACCOUNT = fixed(6);
const EXCHANGE_TOKEN_ACCOUNT = fixed(7);
const UNMAPPED_TOKEN_ACCOUNT = fixed(8);
const TABLE = fixed(9);

const agentPolicy = (extra: Record<string, unknown> = {}) => ({
  chain: 'solana',
  programs: [SYSTEM.toBase58(), MEMO.toBase58(), TOKEN.toBase58()],
  recipients: [EXCHANGE.toBase58(), TREASURY.toBase58(), EXCHANGE_TOKEN_ACCOUNT.toBase58()],
  caps: {
    native: { perTransaction: '1000000', rolling24h: '2500000' },
    [MINT.toBase58()]: { perTransaction: '500' },
  },
  tokenAccounts: { [MY_TOKEN_ACCOUNT.toBase58()]: MINT.toBase58() },
  ...extra,
});

let t: TestGateway;
let keyId: string;
let signer: PublicKey;
let blockhashSeed = 100;

beforeAll(async () => {
  t = await startTestGateway({
    policies: {
      'alias/sol-agent': agentPolicy(),
      'alias/sol-race': agentPolicy({ caps: { native: { perTransaction: '1000000', rolling24h: '1500000' } } }),
      'alias/sol-burst': agentPolicy({ caps: { native: { rolling24h: '1000000' } } }),
    },
  });
  keyId = await createKeyWithAlias(t, 'ECC_NIST_EDWARDS25519', 'alias/sol-agent');
  signer = new PublicKey(await addressOf(t, keyId, 'solana'));
});
afterAll(async () => {
  await t.stop();
});

/** A fresh blockhash per message, so two transfers of the same amount are different messages. */
function blockhash(): string {
  return fixed(blockhashSeed++).toBase58();
}

function transferTx(from: PublicKey, to: PublicKey, lamports: number, more: TransactionInstruction[] = []): Transaction {
  return new Transaction({ feePayer: from, recentBlockhash: blockhash() }).add(...more, SystemProgram.transfer({ fromPubkey: from, toPubkey: to, lamports }));
}

async function signTx(alias: string, tx: Transaction) {
  return sign(t, alias, tx.serializeMessage(), { algorithm: 'ED25519_SHA_512' });
}

describe('accepted', () => {
  it("signs a SOL transfer that @solana/web3.js verifies; the address is DeriveAddress's", async () => {
    const tx = transferTx(signer, EXCHANGE, 250_000);
    const out = await signTx('alias/sol-agent', tx);
    expect(out.status).toBe(200);
    tx.addSignature(signer, Buffer.from(out.signature!));
    expect(tx.verifySignatures()).toBe(true);
    // A wrong signature is caught by the same check (the test is not vacuous).
    const forged = Uint8Array.from(out.signature!);
    forged[0]! ^= 1;
    const bad = Transaction.populate(tx.compileMessage());
    bad.addSignature(signer, Buffer.from(forged));
    expect(bad.verifySignatures()).toBe(false);
  });

  it('signs an SPL TransferChecked of a capped mint, and a plain Transfer from a mapped token account', async () => {
    const checked = spl.createTransferCheckedInstruction(MY_TOKEN_ACCOUNT, MINT, EXCHANGE_TOKEN_ACCOUNT, signer, 500n, 6);
    const tx = new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(checked);
    const out = await signTx('alias/sol-agent', tx);
    expect(out.status).toBe(200);
    tx.addSignature(signer, Buffer.from(out.signature!));
    expect(tx.verifySignatures()).toBe(true);

    const plain = spl.createTransferInstruction(MY_TOKEN_ACCOUNT, EXCHANGE_TOKEN_ACCOUNT, signer, 400n);
    expect((await signTx('alias/sol-agent', new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(plain))).status).toBe(200);
  });
});

describe('denied, never reaching the device', () => {
  const denied = async (tx: Transaction | Uint8Array, reason: string, type = 'AccessDeniedException', alias = 'alias/sol-agent') => {
    const before = deviceRequests(t);
    const message = tx instanceof Uint8Array ? tx : tx.serializeMessage();
    const out = await sign(t, alias, message, { algorithm: 'ED25519_SHA_512' });
    expect(out.error).toMatchObject({ type, reason });
    expect(deviceRequests(t)).toBe(before);
    expect(auditFor(t, keyId).at(-1)).toMatchObject({ decision: 'deny', reason });
  };

  it('a recipient that is not listed', async () => {
    await denied(transferTx(signer, STRANGER, 1), 'RECIPIENT_NOT_ALLOWED');
  });

  it('a program that is not listed', async () => {
    const other = new TransactionInstruction({ programId: fixed(42), keys: [{ pubkey: signer, isSigner: true, isWritable: true }], data: Buffer.from([1]) });
    await denied(new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(other), 'PROGRAM_NOT_ALLOWED');
  });

  it('one lamport over the per-transaction cap (the cap itself passes)', async () => {
    await denied(transferTx(signer, TREASURY, 1_000_001), 'PER_TX_CAP_EXCEEDED');
  });

  it('a transfer hidden behind a memo and split in two is counted whole', async () => {
    const memo = new TransactionInstruction({ programId: MEMO, keys: [], data: Buffer.from('rebalance') });
    const tx = transferTx(signer, EXCHANGE, 600_000, [memo, SystemProgram.transfer({ fromPubkey: signer, toPubkey: TREASURY, lamports: 600_000 })]);
    await denied(tx, 'PER_TX_CAP_EXCEEDED');
  });

  it('tokens: over the cap by one unit, a mint without a cap, a plain Transfer from an unmapped account', async () => {
    const tokenTx = (ix: TransactionInstruction) => new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(ix);
    await denied(tokenTx(spl.createTransferCheckedInstruction(MY_TOKEN_ACCOUNT, MINT, EXCHANGE_TOKEN_ACCOUNT, signer, 501n, 6)), 'PER_TX_CAP_EXCEEDED');
    await denied(tokenTx(spl.createTransferCheckedInstruction(UNMAPPED_TOKEN_ACCOUNT, OTHER_MINT, EXCHANGE_TOKEN_ACCOUNT, signer, 1n, 6)), 'ASSET_NOT_ALLOWED');
    // A checked transfer naming another mint than the one tokenAccounts records for its source account.
    await denied(tokenTx(spl.createTransferCheckedInstruction(MY_TOKEN_ACCOUNT, OTHER_MINT, EXCHANGE_TOKEN_ACCOUNT, signer, 1n, 6)), 'TOKEN_MINT_UNKNOWN');
    await denied(tokenTx(spl.createTransferInstruction(UNMAPPED_TOKEN_ACCOUNT, EXCHANGE_TOKEN_ACCOUNT, signer, 1n)), 'TOKEN_MINT_UNKNOWN');
  });

  it('a System or SPL Token instruction that is not a transfer and not listed (Assign hands the account to another program)', async () => {
    const assign = SystemProgram.assign({ accountPubkey: signer, programId: fixed(43) });
    await denied(new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(assign), 'INSTRUCTION_NOT_ALLOWED');
    const approve = spl.createApproveInstruction(MY_TOKEN_ACCOUNT, STRANGER, signer, 1n);
    await denied(new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(approve), 'INSTRUCTION_NOT_ALLOWED');
    // A System instruction tag the decoder cannot name (the runtime would refuse it too).
    const unknown = new TransactionInstruction({
      programId: SYSTEM,
      keys: [{ pubkey: signer, isSigner: true, isWritable: true }],
      data: Buffer.from([0x02, 0x00, 0x3e, 0x00]),
    });
    await denied(new Transaction({ feePayer: signer, recentBlockhash: blockhash() }).add(unknown), 'INSTRUCTION_NOT_ALLOWED');
  });

  it('a message the key is not a required signer of', async () => {
    const someoneElse = Keypair.generate().publicKey;
    await denied(transferTx(someoneElse, EXCHANGE, 1), 'SOLANA_NOT_A_SIGNER');
  });

  it('a v0 message using a lookup table the policy does not supply', async () => {
    const table = new AddressLookupTableAccount({
      key: TABLE,
      state: { deactivationSlot: 2n ** 64n - 1n, lastExtendedSlot: 0, lastExtendedSlotStartIndex: 0, addresses: [EXCHANGE] },
    });
    const v0 = new TransactionMessage({
      payerKey: signer,
      recentBlockhash: blockhash(),
      instructions: [SystemProgram.transfer({ fromPubkey: signer, toPubkey: EXCHANGE, lamports: 1 })],
    })
      .compileToV0Message([table])
      .serialize();
    await denied(v0, 'SOLANA_LOOKUP_TABLE_REQUIRED');
  });

  it('bytes that are no Solana message', async () => {
    await denied(new Uint8Array([1, 2, 3]), 'SOLANA_MALFORMED');
    await denied(transferTx(signer, EXCHANGE, 1).serializeMessage().subarray(0, 60), 'SOLANA_MALFORMED');
    await denied(new Uint8Array(300).fill(0xff), 'SOLANA_UNSUPPORTED_VERSION');
  });
});

describe('replay and rolling caps', () => {
  it('an identical request gets the same signature without a device call, and is not counted twice', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_EDWARDS25519', 'alias/sol-burst');
    const me = new PublicKey(await addressOf(t, id, 'solana'));
    const first = transferTx(me, EXCHANGE, 600_000);
    const a = await signTx('alias/sol-burst', first);
    expect(a.status).toBe(200);
    const before = deviceRequests(t);
    const b = await signTx('alias/sol-burst', first);
    expect(b.signature).toEqual(a.signature);
    expect(deviceRequests(t)).toBe(before);
    // 600 000 of the 1 000 000 rolling cap is used, once: 400 000 more fits exactly, 1 more does not.
    expect((await signTx('alias/sol-burst', transferTx(me, EXCHANGE, 400_000))).status).toBe(200);
    expect((await signTx('alias/sol-burst', transferTx(me, EXCHANGE, 1))).error).toMatchObject({ reason: 'ROLLING_CAP_EXCEEDED' });
    // …and a replay of an accepted message still works when the cap is full: it moves nothing new.
    expect((await signTx('alias/sol-burst', first)).signature).toEqual(a.signature);
    expect(auditFor(t, id).map((r) => r.decision)).toEqual(['accept', 'replay', 'accept', 'deny', 'replay']);
  });

  it('two concurrent requests that each fit the rolling cap but not together: exactly one is signed', async () => {
    const id = await createKeyWithAlias(t, 'ECC_NIST_EDWARDS25519', 'alias/sol-race');
    const me = new PublicKey(await addressOf(t, id, 'solana'));
    for (let round = 0; round < 3; round++) {
      // The cap is 1 500 000 a day; each round's 1 000 000 + 1 000 000 is decided by the ledger,
      // so from the second round on both are refused (the first round's winner is still counted).
      const outs = await Promise.all([
        signTx('alias/sol-race', transferTx(me, EXCHANGE, 1_000_000)),
        signTx('alias/sol-race', transferTx(me, TREASURY, 1_000_000)),
      ]);
      const ok = outs.filter((o) => o.status === 200).length;
      expect(ok).toBe(round === 0 ? 1 : 0);
      for (const o of outs.filter((x) => x.status !== 200)) expect(o.error).toMatchObject({ reason: 'ROLLING_CAP_EXCEEDED' });
    }
    // Many at once: 500 000 is the room left; ten racing 100 000s: exactly five fit.
    const many = await Promise.all(Array.from({ length: 10 }, () => signTx('alias/sol-race', transferTx(me, EXCHANGE, 100_000))));
    expect(many.filter((o) => o.status === 200)).toHaveLength(5);
  });
});
