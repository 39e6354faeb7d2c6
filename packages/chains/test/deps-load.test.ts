// The jest transform is CommonJS: every dependency must ship a CommonJS build. This test fails
// first (with "Cannot use import statement outside a module") if an upgrade brings an ESM-only one.
import * as web3 from '@solana/web3.js';
import * as ethers from 'ethers';
import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { serializeSignDoc } from '@cosmjs/amino';
import { toBech32 } from '@cosmjs/encoding';
import { Registry, makeAuthInfoBytes } from '@cosmjs/proto-signing';
import { SigningStargateClient } from '@cosmjs/stargate';
import { Secp256k1 } from '@cosmjs/crypto';

test('runtime and test dependencies load as CommonJS', () => {
  expect(typeof web3.VersionedMessage.deserialize).toBe('function');
  expect(typeof ethers.Transaction.from).toBe('function');
  expect(typeof SignDoc.decode).toBe('function');
  expect(typeof serializeSignDoc).toBe('function');
  expect(typeof toBech32).toBe('function');
  expect(typeof Registry).toBe('function');
  expect(typeof makeAuthInfoBytes).toBe('function');
  expect(typeof SigningStargateClient.offline).toBe('function');
  expect(typeof Secp256k1.verifySignature).toBe('function');
});
