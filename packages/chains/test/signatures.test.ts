// DER → chain signature conversions, verified with cosmjs and ethers rather than with our own code.
import { Secp256k1, Secp256k1Signature } from '@cosmjs/crypto';
import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { sha256 } from '@noble/hashes/sha2';
import { hexlify, recoverAddress } from 'ethers';
import { cosmosSignatureFromDer, deriveAddress, ethereumSignatureFromDer } from '../src';
import { codeOf, fixedSecret, kmsDerSign, spkiFor } from './helpers';

const secret = fixedSecret(600);
const spki = spkiFor('secp256k1', secret);
const digest = sha256(new TextEncoder().encode('sign me'));

describe('cosmosSignatureFromDer', () => {
  test('high-S DER becomes low-S r‖s that cosmjs verifies', async () => {
    const der = kmsDerSign(secp256k1, digest, secret, true);
    const sig = cosmosSignatureFromDer(der);
    expect(sig).toHaveLength(64);
    const s = BigInt(hexlify(sig.subarray(32)));
    expect(s <= secp256k1.CURVE.n / 2n).toBe(true);
    expect(await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(sig), digest, secp256k1.getPublicKey(secret, true))).toBe(true);
    expect(cosmosSignatureFromDer(kmsDerSign(secp256k1, digest, secret, false), spki)).toEqual(sig);
  });

  test('a P-256 key normalises against the P-256 order', () => {
    const pSecret = fixedSecret(601);
    const sig = cosmosSignatureFromDer(kmsDerSign(p256, digest, pSecret, true), spkiFor('p256', pSecret));
    expect(BigInt(hexlify(sig.subarray(32))) <= p256.CURVE.n / 2n).toBe(true);
    expect(p256.verify(sig, digest, p256.getPublicKey(pSecret))).toBe(true);
  });

  test.each([
    ['a trailing byte', (d: Uint8Array) => Uint8Array.from([...d, 0])],
    ['a wrong SEQUENCE length', (d: Uint8Array) => Uint8Array.from([d[0]!, d[1]! + 1, ...d.subarray(2)])],
    ['a truncated signature', (d: Uint8Array) => d.subarray(0, d.length - 1)],
    ['r = 0', () => Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01])],
    ['too long', () => new Uint8Array(73)],
  ])('%s is SIGNATURE_INVALID', (_name, mutate) => {
    expect(codeOf(() => cosmosSignatureFromDer(mutate(kmsDerSign(secp256k1, digest, secret))))).toBe('SIGNATURE_INVALID');
  });

  test('an Ed25519 key is KEY_TYPE_MISMATCH', () => {
    expect(codeOf(() => cosmosSignatureFromDer(kmsDerSign(secp256k1, digest, secret), spkiFor('ed25519', secret)))).toBe('KEY_TYPE_MISMATCH');
  });
});

describe('ethereumSignatureFromDer', () => {
  test('low-S r, s and the recovery bit; ethers recovers the address', () => {
    for (const highS of [true, false]) {
      const sig = ethereumSignatureFromDer(kmsDerSign(secp256k1, digest, secret, highS), digest, spki);
      expect(BigInt(hexlify(sig.s)) <= secp256k1.CURVE.n / 2n).toBe(true);
      expect(sig.v).toBe(27 + sig.yParity);
      expect(sig.rsv).toEqual(Uint8Array.from([...sig.r, ...sig.s, sig.v]));
      expect(recoverAddress(digest, { r: hexlify(sig.r), s: hexlify(sig.s), yParity: sig.yParity })).toBe(deriveAddress('ethereum', spki));
    }
  });

  test('a signature by another key, or over another digest, is SIGNATURE_KEY_MISMATCH', () => {
    const der = kmsDerSign(secp256k1, digest, secret);
    expect(codeOf(() => ethereumSignatureFromDer(der, digest, spkiFor('secp256k1', fixedSecret(602))))).toBe('SIGNATURE_KEY_MISMATCH');
    expect(codeOf(() => ethereumSignatureFromDer(der, sha256(digest), spki))).toBe('SIGNATURE_KEY_MISMATCH');
  });

  test('bad arguments', () => {
    const der = kmsDerSign(secp256k1, digest, secret);
    expect(codeOf(() => ethereumSignatureFromDer(der, digest.subarray(1), spki))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ethereumSignatureFromDer(der, digest, spkiFor('p256', secret)))).toBe('KEY_TYPE_MISMATCH');
    expect(codeOf(() => ethereumSignatureFromDer('30' as never, digest, spki))).toBe('INVALID_ARGUMENT');
  });
});
