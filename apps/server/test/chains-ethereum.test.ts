import { Interface, Signature, Transaction, computeAddress, getBytes, hexlify, recoverAddress, verifyTypedData, type TransactionLike } from 'ethers';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { addressOf, auditFor, createKeyWithAlias, deviceRequests, publicKeyOf, sign } from './helpers/signing';

/**
 * An Ethereum treasury bot's key behind its policy, end to end: EIP-1559 transactions and EIP-712
 * typed data built with ethers, signed through the real gateway (Sign RAW of the unsigned payload;
 * the gateway signs its keccak-256 digest), and the sender recovered by ethers.
 */
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const DAI = '0x6B175474E89094C44Da98b954EedeAC495271d0F';
const ROUTER = '0x66a9893cC07D91D95644AEDD05D03f95e1dBA8Af';
const PAYROLL = '0x1111111111111111111111111111111111111111';
const COLD = '0x2222222222222222222222222222222222222222';
const STRANGER = '0x3333333333333333333333333333333333333333';
const ETH = 10n ** 18n;
const GWEI = 10n ** 9n;

const treasuryPolicy = (extra: Record<string, unknown> = {}) => ({
  chain: 'ethereum',
  chainIds: [1],
  recipients: [PAYROLL, COLD.toLowerCase()],
  contracts: [ROUTER],
  caps: {
    native: { perTransaction: String(ETH), rolling24h: String(5n * ETH) },
    [USDC]: { perTransaction: '10000000000', rolling24h: '50000000000' },
  },
  typedData: { primaryTypes: ['Order'] },
  signatureFormat: 'ethereum-rsv',
  ...extra,
});

const erc20 = new Interface(['function transfer(address to, uint256 amount)', 'function approve(address spender, uint256 amount)']);

let t: TestGateway;
let keyId: string;
let address: string;
let nonce = 0;

beforeAll(async () => {
  t = await startTestGateway({
    policies: {
      'alias/eth-treasury': treasuryPolicy(),
      'alias/eth-der': treasuryPolicy({ signatureFormat: 'der' }),
    },
  });
  keyId = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/eth-treasury');
  address = await addressOf(t, keyId, 'ethereum');
});
afterAll(async () => {
  await t.stop();
});

/** An unsigned EIP-1559 transaction: 21 000 gas at 30 gwei at most, so at most 630 000 gwei in fees. */
function tx(fields: TransactionLike): Transaction {
  return Transaction.from({
    type: 2,
    chainId: 1,
    nonce: nonce++,
    maxFeePerGas: 30n * GWEI,
    maxPriorityFeePerGas: GWEI,
    gasLimit: 21_000n,
    value: 0n,
    data: '0x',
    ...fields,
  });
}
const MAX_FEE = 21_000n * 30n * GWEI;

async function signTx(alias: string, unsigned: Transaction) {
  return sign(t, alias, getBytes(unsigned.unsignedSerialized));
}

it('DeriveAddress gives the EIP-55 address ethers computes from the public key', async () => {
  const spki = await publicKeyOf(t, keyId);
  expect(address).toBe(computeAddress(hexlify(spki.subarray(spki.length - 65))));
});

it('signs an EIP-1559 transfer; ethers recovers the sender from the 65-byte r‖s‖v', async () => {
  const unsigned = tx({ to: PAYROLL, value: ETH / 10n });
  const out = await signTx('alias/eth-treasury', unsigned);
  expect(out.status).toBe(200);
  expect(out.signature).toHaveLength(65);
  const signed = unsigned.clone();
  signed.signature = Signature.from(hexlify(out.signature!));
  expect(signed.from).toBe(address);
  // The signed transaction round-trips through ethers' parser with the same sender.
  expect(Transaction.from(signed.serialized).from).toBe(address);
});

it('signs EIP-712 typed data of a listed primary type; ethers verifyTypedData recovers the key', async () => {
  const domain = { name: 'Router', version: '1', chainId: 1, verifyingContract: ROUTER };
  const types = {
    Order: [
      { name: 'maker', type: 'address' },
      { name: 'amount', type: 'uint256' },
    ],
  };
  const message = { maker: address, amount: '1000' };
  const json = JSON.stringify({
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      ...types,
    },
    primaryType: 'Order',
    domain,
    message,
  });
  const out = await sign(t, 'alias/eth-treasury', new TextEncoder().encode(json));
  expect(out.status).toBe(200);
  expect(verifyTypedData(domain, types, message, hexlify(out.signature!))).toBe(address);

  const permit = json.replace(/"Order"/g, '"Permit"');
  expect((await sign(t, 'alias/eth-treasury', new TextEncoder().encode(permit))).error).toMatchObject({ reason: 'TYPED_DATA_NOT_ALLOWED' });
});

it('with the default DER format, Verify RAW checks the keccak digest, and the sender is recovered from r, s', async () => {
  const id = await createKeyWithAlias(t, 'ECC_SECG_P256K1', 'alias/eth-der');
  const me = await addressOf(t, id, 'ethereum');
  const unsigned = tx({ to: COLD, value: 1n });
  const out = await signTx('alias/eth-der', unsigned);
  expect(out.status).toBe(200);
  const verify = await t.call('Verify', {
    KeyId: 'alias/eth-der',
    Message: Buffer.from(getBytes(unsigned.unsignedSerialized)).toString('base64'),
    MessageType: 'RAW',
    Signature: Buffer.from(out.signature!).toString('base64'),
    SigningAlgorithm: 'ECDSA_SHA_256',
  });
  expect(verify.json).toMatchObject({ SignatureValid: true });
  // What AWS-KMS Ethereum signers do with a DER signature: normalise s, try both recovery ids.
  const der = Signature.from(derToRsv(out.signature!, 27));
  const candidates = [27, 28].map((v) => recoverAddress(unsigned.unsignedHash, Signature.from({ r: der.r, s: der.s, v })));
  expect(candidates).toContain(me);
});

describe('denied, never reaching the device', () => {
  const denied = async (message: Uint8Array, reason: string, opts: { messageType?: 'DIGEST' } = {}) => {
    const before = deviceRequests(t);
    const out = await sign(t, 'alias/eth-treasury', message, opts);
    expect(out.error).toMatchObject({ type: 'AccessDeniedException', reason });
    expect(deviceRequests(t)).toBe(before);
    expect(auditFor(t, keyId).at(-1)).toMatchObject({ decision: 'deny', reason });
  };
  const raw = (x: Transaction) => getBytes(x.unsignedSerialized);

  it('one wei over the per-transaction cap, the most the fees can be included (the cap itself passes)', async () => {
    expect((await signTx('alias/eth-treasury', tx({ to: COLD, value: ETH - MAX_FEE }))).status).toBe(200);
    await denied(raw(tx({ to: COLD, value: ETH - MAX_FEE + 1n })), 'PER_TX_CAP_EXCEEDED');
  });

  it('ERC-20: over the cap by one unit, to a stranger, an approval for a stranger, a token without a cap', async () => {
    const call = (token: string, data: string) => tx({ to: token, data, gasLimit: 21_000n });
    expect((await signTx('alias/eth-treasury', call(USDC, erc20.encodeFunctionData('transfer', [PAYROLL, 10_000_000_000n])))).status).toBe(200);
    await denied(raw(call(USDC, erc20.encodeFunctionData('transfer', [PAYROLL, 10_000_000_001n]))), 'PER_TX_CAP_EXCEEDED');
    await denied(raw(call(USDC, erc20.encodeFunctionData('transfer', [STRANGER, 1n]))), 'RECIPIENT_NOT_ALLOWED');
    await denied(raw(call(USDC, erc20.encodeFunctionData('approve', [STRANGER, 1n]))), 'CONTRACT_NOT_ALLOWED');
    await denied(raw(call(DAI, erc20.encodeFunctionData('transfer', [PAYROLL, 0n]))), 'ASSET_NOT_ALLOWED');
  });

  it('a contract that is not listed, contract creation, another chain, a signed transaction', async () => {
    await denied(raw(tx({ to: STRANGER, data: '0xdeadbeef' })), 'CONTRACT_NOT_ALLOWED');
    await denied(raw(tx({ to: null, data: '0x6000' })), 'CONTRACT_CREATION_NOT_ALLOWED');
    await denied(raw(tx({ to: PAYROLL, value: 1n, chainId: 5 })), 'CHAIN_ID_NOT_ALLOWED');
    const signed = tx({ to: PAYROLL, value: 1n });
    signed.signature = Signature.from({ r: '0x' + '11'.repeat(32), s: '0x' + '22'.repeat(32), v: 27 });
    await denied(getBytes(signed.serialized), 'ETHEREUM_ALREADY_SIGNED');
  });

  it('a DIGEST (what AWS-KMS Ethereum signers send) unless the policy sets allowDigest', async () => {
    await denied(getBytes(tx({ to: PAYROLL, value: 1n }).unsignedHash), 'DIGEST_NOT_ALLOWED', { messageType: 'DIGEST' });
  });
});

/** DER ECDSA (SEQUENCE of two INTEGERs) → 0x r ‖ s ‖ v with s normalised to the lower half. */
function derToRsv(der: Uint8Array, v: number): string {
  let i = 2;
  const int = () => {
    const len = der[i + 1]!;
    const bytes = der.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    return BigInt(hexlify(bytes));
  };
  const r = int();
  let s = int();
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  if (s > n / 2n) s = n - s;
  return '0x' + r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0') + v.toString(16);
}
