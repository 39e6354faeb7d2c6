// Every EC curve of the simulator against OpenSSL (node:crypto): the public key of an OpenSSL key,
// its SubjectPublicKeyInfo (curve OIDs), ECDSA signatures OpenSSL verifies, and ECDH secrets
// OpenSSL computes. P-224 and the Brainpool curves are defined in src/curves.ts from their
// published parameters, so this is what would catch a mistyped constant.
import { createECDH, createHash, generateKeyPairSync, verify } from 'node:crypto';
import { Algorithm } from '@kmsgate/yubihsm';
import { deriveEcdh, type EcSpec, keySpec, publicKeyOf, signEcdsa, subjectPublicKeyInfo } from '../src/key-crypto';

const CURVES = [
  [Algorithm.EC_P224, 'secp224r1'],
  [Algorithm.EC_P256, 'prime256v1'],
  [Algorithm.EC_P384, 'secp384r1'],
  [Algorithm.EC_P521, 'secp521r1'],
  [Algorithm.EC_K256, 'secp256k1'],
  [Algorithm.EC_BP256, 'brainpoolP256r1'],
  [Algorithm.EC_BP384, 'brainpoolP384r1'],
  [Algorithm.EC_BP512, 'brainpoolP512r1'],
] as const;

describe.each(CURVES)('algorithm %i = OpenSSL %s', (algorithm, name) => {
  const spec = keySpec(algorithm) as EcSpec;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: name });
  const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
  // ECPrivateKey (RFC 5915): version 1, then the scalar as an OCTET STRING of the curve size.
  const at = sec1.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, spec.size])) + 5;
  const d = new Uint8Array(sec1.subarray(at, at + spec.size));
  const spki = publicKey.export({ format: 'der', type: 'spki' });

  it('derives the same public key and SubjectPublicKeyInfo', () => {
    expect(Buffer.from(subjectPublicKeyInfo(spec, d))).toEqual(spki);
    expect(Buffer.from(publicKeyOf(spec, d))).toEqual(spki.subarray(spki.length - 2 * spec.size));
  });

  it.each(['sha1', 'sha256', 'sha384', 'sha512'])('signs a %s hash OpenSSL verifies', (hash) => {
    const message = new TextEncoder().encode(`${name} ${hash}`);
    const digest = new Uint8Array(createHash(hash).update(message).digest());
    expect(verify(hash, message, { key: publicKey, dsaEncoding: 'der' }, signEcdsa(spec, d, digest))).toBe(true);
  });

  it('computes the ECDH secret OpenSSL computes', () => {
    const peer = createECDH(name);
    peer.generateKeys();
    const ours = deriveEcdh(spec, d, new Uint8Array(peer.getPublicKey()));
    expect(Buffer.from(ours)).toEqual(peer.computeSecret(Buffer.concat([Buffer.of(4), publicKeyOf(spec, d)])));
  });
});
