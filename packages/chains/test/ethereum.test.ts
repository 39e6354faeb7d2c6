// Unsigned transactions built by ethers v6, decoded and compared; the digest signed with a
// KMS-style DER signature (@noble/curves), turned into an Ethereum signature and the sender
// recovered by ethers.
import { secp256k1 } from '@noble/curves/secp256k1';
import { Interface, Signature, Transaction, Wallet, encodeRlp, getBytes, hexlify, recoverAddress, toBeHex } from 'ethers';
import { decodeEthereumTransaction, deriveAddress, ethereumSignatureFromDer } from '../src';
import { codeOf, fixedSecret, kmsDerSign, spkiFor } from './helpers';

const secret = fixedSecret(300);
const spki = spkiFor('secp256k1', secret);
const sender = deriveAddress('ethereum', spki);
const token = new Wallet(hexlify(fixedSecret(301))).address;
const recipient = new Wallet(hexlify(fixedSecret(302))).address;
const erc20 = new Interface([
  'function transfer(address to, uint256 amount)',
  'function approve(address spender, uint256 amount)',
  'function transferFrom(address from, address to, uint256 amount)',
]);
const bytesOf = (tx: Transaction) => getBytes(tx.unsignedSerialized);

const eip1559 = (fields: Partial<Parameters<typeof Transaction.from>[0] & object> = {}) =>
  Transaction.from({
    type: 2,
    chainId: 1,
    nonce: 7,
    to: token,
    value: 0n,
    gasLimit: 65_000n,
    maxFeePerGas: 30_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    data: erc20.encodeFunctionData('transfer', [recipient, 10n ** 24n]),
    ...fields,
  });

test('the address matches ethers Wallet', () => {
  expect(sender).toBe(new Wallet(hexlify(secret)).address);
});

test('an EIP-1559 ERC-20 transfer: fields, calldata, signing hash; the KMS signature recovers to the sender in ethers', () => {
  const tx = eip1559();
  const s = decodeEthereumTransaction(bytesOf(tx));
  expect(s).toEqual({
    chain: 'ethereum',
    type: 2,
    chainId: '1',
    nonce: '7',
    to: token,
    value: '0',
    data: tx.data,
    gasLimit: '65000',
    gasPrice: null,
    maxFeePerGas: '30000000000',
    maxPriorityFeePerGas: '1000000000',
    maxFee: (65_000n * 30_000_000_000n).toString(),
    accessList: [],
    call: { kind: 'erc20-transfer', token, to: recipient, amount: (10n ** 24n).toString() },
    signingHash: tx.unsignedHash,
    totals: { wei: '0', tokens: [{ asset: token, amount: (10n ** 24n).toString() }] },
  });

  const digest = getBytes(s.signingHash);
  const der = kmsDerSign(secp256k1, digest, secret); // high-S, as a KMS may return it
  const sig = ethereumSignatureFromDer(der, digest, spki);
  tx.signature = Signature.from({ r: hexlify(sig.r), s: hexlify(sig.s), yParity: sig.yParity });
  expect(Transaction.from(tx.serialized).from).toBe(sender);
  expect(recoverAddress(s.signingHash, hexlify(sig.rsv))).toBe(sender);
});

test('legacy EIP-155 with value: chain id from the v slot, gasPrice, native transfer', () => {
  const tx = Transaction.from({ type: 0, chainId: 137, nonce: 0, to: recipient, value: 10n ** 18n, gasLimit: 21_000n, gasPrice: 50_000_000_000n, data: '0x' });
  const s = decodeEthereumTransaction(bytesOf(tx));
  expect(s).toMatchObject({
    type: 0,
    chainId: '137',
    to: recipient,
    value: '1000000000000000000',
    gasPrice: '50000000000',
    maxFeePerGas: null,
    maxFee: (21_000n * 50_000_000_000n).toString(),
    call: { kind: 'native-transfer' },
    signingHash: tx.unsignedHash,
    totals: { wei: '1000000000000000000', tokens: [] },
  });
  const digest = getBytes(s.signingHash);
  const sig = ethereumSignatureFromDer(kmsDerSign(secp256k1, digest, secret), digest, spki);
  tx.signature = Signature.from({ r: hexlify(sig.r), s: hexlify(sig.s), yParity: sig.yParity });
  expect(Transaction.from(tx.serialized).from).toBe(sender);
});

test('EIP-2930 with an access list; approve and transferFrom calldata', () => {
  const accessList = [{ address: token, storageKeys: ['0x' + '11'.repeat(32)] }];
  const approve = Transaction.from({
    type: 1,
    chainId: 10,
    nonce: 1,
    to: token,
    gasLimit: 50_000n,
    gasPrice: 1n,
    accessList,
    data: erc20.encodeFunctionData('approve', [recipient, 2n ** 256n - 1n]),
  });
  expect(decodeEthereumTransaction(bytesOf(approve))).toMatchObject({
    type: 1,
    chainId: '10',
    accessList,
    call: { kind: 'erc20-approve', token, spender: recipient, amount: (2n ** 256n - 1n).toString() },
    totals: { wei: '0', tokens: [] },
  });
  const from = eip1559({ data: erc20.encodeFunctionData('transferFrom', [sender, recipient, 5n]) });
  expect(decodeEthereumTransaction(bytesOf(from)).call).toEqual({ kind: 'erc20-transfer-from', token, from: sender, to: recipient, amount: '5' });
});

test('contract creation and other calls', () => {
  expect(decodeEthereumTransaction(bytesOf(eip1559({ to: null, data: '0x6080604052' }))).call).toEqual({ kind: 'contract-creation', dataLength: 5 });
  expect(decodeEthereumTransaction(bytesOf(eip1559({ data: '0xdeadbeef00' }))).call).toEqual({ kind: 'contract-call', selector: '0xdeadbeef', dataLength: 5 });
  expect(decodeEthereumTransaction(bytesOf(eip1559({ data: '0xdead' }))).call).toEqual({ kind: 'contract-call', selector: null, dataLength: 2 });
});

describe('refused', () => {
  const transfer = erc20.encodeFunctionData('transfer', [recipient, 1n]);
  const signed = eip1559();
  signed.signature = Signature.from({ r: '0x' + '01'.repeat(32), s: '0x' + '02'.repeat(32), yParity: 0 });
  const canonical = bytesOf(eip1559());
  const fields = [1, 7, 1_000_000_000, 30_000_000_000, 65_000].map((n) => toBeHex(n));

  test.each([
    ['ERC-20 transfer with a trailing byte', bytesOf(eip1559({ data: transfer + 'ff' })), 'ETHEREUM_MALFORMED_ERC20_CALL'],
    ['ERC-20 transfer one byte short', bytesOf(eip1559({ data: transfer.slice(0, -2) })), 'ETHEREUM_MALFORMED_ERC20_CALL'],
    [
      'ERC-20 transfer to an address with dirty upper bytes',
      bytesOf(eip1559({ data: transfer.slice(0, 10) + 'ff' + transfer.slice(12) })),
      'ETHEREUM_MALFORMED_ERC20_CALL',
    ],
    ['a signed transaction', getBytes(signed.serialized), 'ETHEREUM_ALREADY_SIGNED'],
    [
      'legacy without a chain id',
      bytesOf(Transaction.from({ type: 0, nonce: 0, to: recipient, gasLimit: 21_000n, gasPrice: 1n })),
      'ETHEREUM_MISSING_CHAIN_ID',
    ],
    ['EIP-1559 with chain id 0', bytesOf(eip1559({ chainId: 0 })), 'ETHEREUM_MISSING_CHAIN_ID'],
    ['type 3 (blob)', Uint8Array.from([3, ...canonical.subarray(1)]), 'ETHEREUM_UNSUPPORTED_TYPE'],
    ['type 0x00', Uint8Array.from([0, ...canonical.subarray(1)]), 'ETHEREUM_UNSUPPORTED_TYPE'],
    ['an RLP string', Uint8Array.from([0x83, 1, 2, 3]), 'ETHEREUM_MALFORMED'],
    ['empty', new Uint8Array(0), 'ETHEREUM_MALFORMED'],
    ['trailing junk', Uint8Array.from([...canonical, 0]), 'ETHEREUM_MALFORMED'],
    ['truncated', canonical.subarray(0, canonical.length - 1), 'ETHEREUM_MALFORMED'],
    [
      'a nonce with a leading zero byte',
      getBytes('0x02' + encodeRlp([fields[0]!, '0x0007', ...fields.slice(2), token, '0x', '0x', []]).slice(2)),
      'ETHEREUM_NON_CANONICAL',
    ],
    ['over 128 KiB', new Uint8Array(4 * 32 * 1024 + 1), 'MESSAGE_TOO_LARGE'],
  ] as const)('%s', (_name, bytes, code) => {
    expect(codeOf(() => decodeEthereumTransaction(bytes))).toBe(code);
  });

  test('the canonical form of the hand-built transaction decodes (so the leading zero is what is refused)', () => {
    const ok = getBytes('0x02' + encodeRlp([fields[0]!, '0x07', ...fields.slice(2), token, '0x', '0x', []]).slice(2));
    expect(decodeEthereumTransaction(ok)).toMatchObject({ nonce: '7', call: { kind: 'native-transfer' } });
  });
});
