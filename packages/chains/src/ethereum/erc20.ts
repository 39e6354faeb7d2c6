import { checksumAddress } from '../address';
import { readUintBE, toHex } from '../bytes';
import { fail } from '../errors';
import type { EthereumCall } from './types';

/** 4-byte selectors: keccak256("transfer(address,uint256)") etc., first 4 bytes (EIP-20). */
const TRANSFER = 'a9059cbb';
const APPROVE = '095ea7b3';
const TRANSFER_FROM = '23b872dd';

/**
 * What calldata `data` sent to `to` does. ERC-20 arguments must be exactly the ABI words the
 * selector takes, addresses with clean upper bytes: Solidity ignores extra calldata, so a token
 * call with appended or dirty bytes is not something to summarise and approve, and is refused.
 */
export function decodeCall(to: string | null, data: Uint8Array): EthereumCall {
  if (to === null) return { kind: 'contract-creation', dataLength: data.length };
  if (data.length === 0) return { kind: 'native-transfer' };
  if (data.length < 4) return { kind: 'contract-call', selector: null, dataLength: data.length };
  const selector = toHex(data.subarray(0, 4));
  const words = (n: number): Uint8Array[] => {
    if (data.length !== 4 + 32 * n) fail('ETHEREUM_MALFORMED_ERC20_CALL', `selector 0x${selector} takes ${n} words, calldata has ${data.length - 4} bytes`);
    return Array.from({ length: n }, (_, i) => data.subarray(4 + 32 * i, 36 + 32 * i));
  };
  switch (selector) {
    case TRANSFER: {
      const [recipient, amount] = words(2);
      return { kind: 'erc20-transfer', token: to, to: address(recipient!), amount: readUintBE(amount!).toString() };
    }
    case APPROVE: {
      const [spender, amount] = words(2);
      return { kind: 'erc20-approve', token: to, spender: address(spender!), amount: readUintBE(amount!).toString() };
    }
    case TRANSFER_FROM: {
      const [from, recipient, amount] = words(3);
      return { kind: 'erc20-transfer-from', token: to, from: address(from!), to: address(recipient!), amount: readUintBE(amount!).toString() };
    }
    default:
      return { kind: 'contract-call', selector: `0x${selector}`, dataLength: data.length };
  }
}

function address(word: Uint8Array): string {
  if (word.subarray(0, 12).some((b) => b !== 0)) fail('ETHEREUM_MALFORMED_ERC20_CALL', 'address argument has dirty upper bytes');
  return checksumAddress(word.subarray(12));
}
