import { keccak_256 } from '@noble/hashes/sha3';
import { Transaction, getBytes, hexlify } from 'ethers';
import { checkBytes, toHex } from '../bytes';
import { fail, guard } from '../errors';
import { Totals } from '../totals';
import { decodeCall } from './erc20';
import type { EthereumTransactionSummary } from './types';

/** geth's txMaxSize (core/txpool/legacypool): 4 slots of 32 KiB; larger transactions are not relayed. */
export const MAX_TRANSACTION_BYTES = 4 * 32 * 1024;

/**
 * Decodes an unsigned Ethereum transaction, the payload whose keccak-256 the key signs:
 * legacy with an EIP-155 chain id (RLP [nonce, gasPrice, gas, to, value, data, chainId, 0, 0]),
 * EIP-2930 (0x01 ‖ RLP) or EIP-1559 (0x02 ‖ RLP). ethers parses it and must re-serialise the
 * same bytes, which refuses non-minimal RLP and integers and trailing data.
 */
export function decodeEthereumTransaction(bytes: Uint8Array): EthereumTransactionSummary {
  checkBytes('bytes', bytes, MAX_TRANSACTION_BYTES);
  if (bytes.length === 0) fail('ETHEREUM_MALFORMED', 'empty transaction');
  const first = bytes[0]!;
  // EIP-2718: a first byte ≥ 0xc0 is an RLP list (legacy); 0x00-0x7f is a transaction type.
  let type: 0 | 1 | 2;
  if (first >= 0xc0) type = 0;
  else if (first === 1 || first === 2) type = first;
  else if (first <= 0x7f) return fail('ETHEREUM_UNSUPPORTED_TYPE', `transaction type ${first} is not supported`);
  else return fail('ETHEREUM_MALFORMED', 'neither a typed transaction nor an RLP list');

  const hex = hexlify(bytes);
  const tx = guard('ETHEREUM_MALFORMED', 'transaction does not decode', () => Transaction.from(hex));
  if (tx.signature !== null) fail('ETHEREUM_ALREADY_SIGNED', 'the transaction carries a signature');
  if (tx.type !== type) fail('ETHEREUM_MALFORMED', `type byte ${type} but ethers read type ${tx.type}`);
  if (tx.chainId === 0n) fail('ETHEREUM_MISSING_CHAIN_ID', 'the transaction has no chain id (no replay protection)');
  const unsigned = guard('ETHEREUM_MALFORMED', 'transaction does not re-serialise', () => tx.unsignedSerialized);
  if (unsigned !== hex) fail('ETHEREUM_NON_CANONICAL', 'the transaction is not in canonical RLP');

  const data = getBytes(tx.data);
  const call = decodeCall(tx.to, data);
  const tokens = new Totals();
  if (call.kind === 'erc20-transfer' || call.kind === 'erc20-transfer-from') tokens.add(call.token, BigInt(call.amount));
  const feePerGas = type === 2 ? tx.maxFeePerGas! : tx.gasPrice!;
  return {
    chain: 'ethereum',
    type,
    chainId: tx.chainId.toString(),
    nonce: tx.nonce.toString(),
    to: tx.to,
    value: tx.value.toString(),
    data: tx.data,
    gasLimit: tx.gasLimit.toString(),
    gasPrice: type === 2 ? null : tx.gasPrice!.toString(),
    maxFeePerGas: type === 2 ? tx.maxFeePerGas!.toString() : null,
    maxPriorityFeePerGas: type === 2 ? tx.maxPriorityFeePerGas!.toString() : null,
    maxFee: (tx.gasLimit * feePerGas).toString(),
    accessList: type === 0 ? [] : (tx.accessList ?? []).map((e) => ({ address: e.address, storageKeys: [...e.storageKeys] })),
    call,
    signingHash: `0x${toHex(keccak_256(bytes))}`,
    totals: { wei: tx.value.toString(), tokens: tokens.list() },
  };
}
