// EIP-712 typed data: the specification's own example as a known-answer vector, then data built
// and signed with ethers v6 (Wallet.signTypedData / verifyTypedData / TypedDataEncoder).
import { secp256k1 } from '@noble/curves/secp256k1';
import { TypedDataEncoder, Wallet, getBytes, hexlify, verifyTypedData } from 'ethers';
import { decodeEip712, deriveAddress, ethereumSignatureFromDer } from '../src';
import { codeOf, fixedSecret, kmsDerSign, spkiFor } from './helpers';
import vectors from './vectors/eip712.json';

const secret = fixedSecret(400);
const spki = spkiFor('secp256k1', secret);
const wallet = new Wallet(hexlify(secret));

describe(`vectors: ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    if (v.label !== 'valid') throw new Error(`unknown vector label ${v.label}`);
    test(v.name, () => {
      const s = decodeEip712(JSON.stringify(v.typedData));
      expect(s.domainSeparator).toBe(v.domainSeparator);
      expect(s.digest).toBe(v.digest);
      expect(s.primaryType).toBe('Mail');
      expect(s.domain).toEqual({ name: 'Ether Mail', version: '1', chainId: '1', verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' });
    });
  }
});

// An ERC-2612 permit: what a drainer asks an agent to sign.
const domain = { name: 'USD Coin', version: '2', chainId: 8453, verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' };
const types = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};
const message = {
  owner: wallet.address,
  spender: '0x000000000022d473030f116ddee9f6b43ac78ba3',
  value: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
  nonce: 0,
  deadline: '0x7fffffff',
};
const payload = (over: Record<string, unknown> = {}) => JSON.stringify({ ...TypedDataEncoder.getPayload(domain, types, message), ...over });

test('a permit: digest as ethers computes it, normalised message; a KMS signature equals ethers Wallet.signTypedData', async () => {
  const s = decodeEip712(new TextEncoder().encode(payload()));
  expect(s.digest).toBe(TypedDataEncoder.hash(domain, types, message));
  expect(s.domainSeparator).toBe(TypedDataEncoder.hashDomain(domain));
  expect(s.domain).toEqual({ ...domain, chainId: '8453' });
  expect(s.message).toEqual({
    owner: wallet.address,
    spender: '0x000000000022D473030F116dDEE9F6B43aC78BA3',
    value: (2n ** 256n - 1n).toString(),
    nonce: '0',
    deadline: '2147483647',
  });
  expect(Object.keys(s.types)).toEqual(['Permit']);

  const digest = getBytes(s.digest);
  const sig = ethereumSignatureFromDer(kmsDerSign(secp256k1, digest, secret), digest, spki);
  expect(hexlify(sig.rsv)).toBe(await wallet.signTypedData(domain, types, message)); // RFC 6979: same r, s
  expect(verifyTypedData(domain, types, message, hexlify(sig.rsv))).toBe(deriveAddress('ethereum', spki));
});

test('the EIP712Domain type is honoured as declared (field order changes the digest), and must match the domain', () => {
  const reordered = [
    { name: 'chainId', type: 'uint256' },
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'verifyingContract', type: 'address' },
  ];
  const base = JSON.parse(payload()) as { types: Record<string, unknown> };
  const s = decodeEip712(JSON.stringify({ ...base, types: { ...base.types, EIP712Domain: reordered } }));
  expect(s.domainSeparator).toBe(TypedDataEncoder.hashStruct('EIP712Domain', { EIP712Domain: reordered }, domain));
  expect(s.domainSeparator).not.toBe(TypedDataEncoder.hashDomain(domain));

  const wrongType = [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'string' },
    { name: 'verifyingContract', type: 'address' },
  ];
  expect(codeOf(() => decodeEip712(JSON.stringify({ ...base, types: { ...base.types, EIP712Domain: wrongType } })))).toBe('EIP712_DOMAIN_MISMATCH');
  const missing = reordered.slice(1);
  expect(codeOf(() => decodeEip712(JSON.stringify({ ...base, types: { ...base.types, EIP712Domain: missing } })))).toBe('EIP712_DOMAIN_MISMATCH');
});

test('fields the type does not declare are not signed and not shown; unused types are ignored', () => {
  const s = decodeEip712(
    payload({ message: { ...message, note: 'not signed' }, types: { ...JSON.parse(payload()).types, Unused: [{ name: 'x', type: 'uint8' }] } }),
  );
  expect(s.digest).toBe(TypedDataEncoder.hash(domain, types, message));
  expect(s.message).not.toHaveProperty('note');
  expect(Object.keys(s.types)).toEqual(['Permit']);
});

test.each([
  ['not JSON', '{', 'EIP712_MALFORMED'],
  ['not an object', '[]', 'EIP712_MALFORMED'],
  ['an unknown top-level key', payload({ extra: 1 }), 'EIP712_MALFORMED'],
  ['primaryType missing from types', payload({ primaryType: 'Nope' }), 'EIP712_MALFORMED'],
  ['primaryType EIP712Domain', payload({ primaryType: 'EIP712Domain' }), 'EIP712_MALFORMED'],
  [
    'a value out of range for uint8',
    JSON.stringify({ types: { T: [{ name: 'v', type: 'uint8' }] }, primaryType: 'T', domain: {}, message: { v: 256 } }),
    'EIP712_MALFORMED',
  ],
  [
    'a bool given as the string "false"',
    JSON.stringify({ types: { T: [{ name: 'b', type: 'bool' }] }, primaryType: 'T', domain: {}, message: { b: 'false' } }),
    'EIP712_MALFORMED',
  ],
  [
    'a number beyond 2^53 (precision lost by JSON)',
    '{"types":{"T":[{"name":"v","type":"uint256"}]},"primaryType":"T","domain":{},"message":{"v":9007199254740993}}',
    'EIP712_MALFORMED',
  ],
  ['a missing field', JSON.stringify({ types: { T: [{ name: 'a', type: 'address' }] }, primaryType: 'T', domain: {}, message: {} }), 'EIP712_MALFORMED'],
  ['a circular type', JSON.stringify({ types: { T: [{ name: 't', type: 'T' }] }, primaryType: 'T', domain: {}, message: { t: {} } }), 'EIP712_MALFORMED'],
  ['an unknown domain field', payload({ domain: { ...domain, extra: 'x' } }), 'EIP712_MALFORMED'],
  ['a bad verifyingContract checksum', payload({ domain: { ...domain, verifyingContract: '0x833589FCD6eDb6E08f4c7C32D4f71b54bdA02913' } }), 'EIP712_MALFORMED'],
])('%s', (_name, json, code) => {
  expect(codeOf(() => decodeEip712(json))).toBe(code);
});
