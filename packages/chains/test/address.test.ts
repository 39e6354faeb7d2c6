// Addresses from SubjectPublicKeyInfo DER (as node:crypto / the backends produce it), checked
// against ethers, @solana/web3.js and cosmjs, and against published values.
import { encodeSecp256k1Pubkey, pubkeyToAddress } from '@cosmjs/amino';
import { secp256k1 } from '@noble/curves/secp256k1';
import { Keypair } from '@solana/web3.js';
import { computeAddress, hexlify } from 'ethers';
import { deriveAddress, parseSpki } from '../src';
import { codeOf, fixedSecret, hexToBytes, spkiFor } from './helpers';

test('Ethereum: private key 1 has the well-known address 0x7E5F…5Bdf (EIP-55)', () => {
  const one = new Uint8Array(32);
  one[31] = 1;
  expect(deriveAddress('ethereum', spkiFor('secp256k1', one))).toBe('0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
});

test.each([1, 2, 3, 4, 5])('Ethereum, Cosmos and Solana addresses match ethers, cosmjs and web3.js (key %i)', (n) => {
  const secret = fixedSecret(500 + n);
  const k1 = spkiFor('secp256k1', secret);
  expect(deriveAddress('ethereum', k1)).toBe(computeAddress(hexlify(secp256k1.getPublicKey(secret, false))));
  const compressed = secp256k1.getPublicKey(secret, true);
  expect(deriveAddress('cosmos', k1)).toBe(pubkeyToAddress(encodeSecp256k1Pubkey(compressed), 'cosmos'));
  expect(deriveAddress('cosmos', k1, { prefix: 'osmo' })).toBe(pubkeyToAddress(encodeSecp256k1Pubkey(compressed), 'osmo'));
  expect(deriveAddress('solana', spkiFor('ed25519', secret))).toBe(Keypair.fromSeed(secret).publicKey.toBase58());
});

test('a compressed-point secp256k1 SPKI gives the same addresses', () => {
  const secret = fixedSecret(510);
  const uncompressed = spkiFor('secp256k1', secret);
  const compressed = hexToBytes('3036301006072a8648ce3d020106052b8104000a032200' + hexlify(secp256k1.getPublicKey(secret, true)).slice(2));
  expect(parseSpki(compressed)).toEqual(parseSpki(uncompressed));
  expect(deriveAddress('ethereum', compressed)).toBe(deriveAddress('ethereum', uncompressed));
  expect(deriveAddress('cosmos', compressed)).toBe(deriveAddress('cosmos', uncompressed));
});

describe('refused', () => {
  const k1 = spkiFor('secp256k1', fixedSecret(520));
  const ed = spkiFor('ed25519', fixedSecret(520));
  const p256 = spkiFor('p256', fixedSecret(520));

  test('a key of the wrong type', () => {
    expect(codeOf(() => deriveAddress('ethereum', ed))).toBe('KEY_TYPE_MISMATCH');
    expect(codeOf(() => deriveAddress('cosmos', p256))).toBe('KEY_TYPE_MISMATCH');
    expect(codeOf(() => deriveAddress('solana', k1))).toBe('KEY_TYPE_MISMATCH');
  });

  test('a malformed SPKI or a point off the curve', () => {
    expect(codeOf(() => deriveAddress('ethereum', k1.subarray(0, k1.length - 1)))).toBe('KEY_INVALID');
    expect(codeOf(() => deriveAddress('ethereum', Uint8Array.from([...k1, 0])))).toBe('KEY_INVALID');
    const offCurve = k1.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    expect(codeOf(() => deriveAddress('ethereum', offCurve))).toBe('KEY_INVALID');
    expect(codeOf(() => deriveAddress('ethereum', new Uint8Array(88)))).toBe('KEY_INVALID');
    expect(codeOf(() => deriveAddress('ethereum', 'abc' as never))).toBe('INVALID_ARGUMENT');
  });

  test.each(['', 'Cosmos', 'cosmos prefix', 'a'.repeat(52)])('prefix %j', (prefix) => {
    expect(codeOf(() => deriveAddress('cosmos', k1, { prefix }))).toBe('INVALID_ARGUMENT');
  });

  test('an unknown chain', () => {
    expect(codeOf(() => deriveAddress('bitcoin' as never, k1))).toBe('INVALID_ARGUMENT');
  });
});
