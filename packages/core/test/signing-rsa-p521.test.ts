/**
 * The RSA and P-521 rows of the key-spec table, AWS's Sign/Verify rules for them, SPKI from the
 * device's raw public keys, and verifySignature against signatures made by node:crypto (OpenSSL)
 * and @noble/curves, never by kmsgate.
 */
import { constants, createHash, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { p521 } from '@noble/curves/nist';
import {
  KEY_SPECS,
  KmsError,
  SIGNING_ALGORITHMS,
  rsaOaepMaxPlaintext,
  signingInput,
  spkiFromRawPublicKey,
  verifySignature,
  type SupportedKeySpec,
  type SupportedSigningAlgorithm,
} from '../src';
import { emsaPkcs1v15Encode, mgf1 } from '../src/kms/rsassa';
import { CTX, keyRecord } from './helpers/keys';

function err(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const RSA_ALGORITHMS = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
] as const;

describe('key-spec table', () => {
  it.each([
    ['RSA_2048', 2048],
    ['RSA_3072', 3072],
    ['RSA_4096', 4096],
  ] as const)('%s: rsa, %d-bit modulus, all six RSASSA algorithms in AWS order, and both RSAES-OAEP ones', (spec, bits) => {
    expect(KEY_SPECS[spec]).toMatchObject({
      kind: 'rsa',
      modulusBits: bits,
      usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
      awsUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
      encryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
    });
    expect(KEY_SPECS[spec].signingAlgorithms).toEqual(RSA_ALGORITHMS);
    // AWS-recorded RSAES-OAEP plaintext limits (k − 2·hLen − 2).
    expect([rsaOaepMaxPlaintext(bits, 'RSAES_OAEP_SHA_1'), rsaOaepMaxPlaintext(bits, 'RSAES_OAEP_SHA_256')]).toEqual(
      { 2048: [214, 190], 3072: [342, 318], 4096: [470, 446] }[bits],
    );
  });

  it('ECC_NIST_P521: 66-byte coordinates, ECDSA_SHA_512 only; signs or agrees keys (ECDH)', () => {
    expect(KEY_SPECS.ECC_NIST_P521).toMatchObject({
      kind: 'ec',
      curve: 'p521',
      coordinateLength: 66,
      signingAlgorithms: ['ECDSA_SHA_512'],
      keyAgreementAlgorithms: ['ECDH'],
    });
    expect(KEY_SPECS.ECC_NIST_P521.usages).toEqual(['SIGN_VERIFY', 'KEY_AGREEMENT']);
  });

  it('RSA algorithms: hash and digest length', () => {
    for (const [alg, hash, length] of [
      ['256', 'sha256', 32],
      ['384', 'sha384', 48],
      ['512', 'sha512', 64],
    ] as const) {
      expect(SIGNING_ALGORITHMS[`RSASSA_PSS_SHA_${alg}`]).toEqual({ family: 'rsa-pss', hash, digestLength: length });
      expect(SIGNING_ALGORITHMS[`RSASSA_PKCS1_V1_5_SHA_${alg}`]).toEqual({ family: 'rsa-pkcs1', hash, digestLength: length });
    }
  });
});

describe('signingInput for RSA and P-521 (AWS rules)', () => {
  const msg = new TextEncoder().encode('hello');

  it.each(RSA_ALGORITHMS)('%s: RAW is hashed, a DIGEST of the right length passes through', (alg) => {
    const { hash, digestLength } = SIGNING_ALGORITHMS[alg];
    const raw = signingInput(keyRecord('RSA_3072'), alg, 'RAW', msg);
    expect(raw.algorithm).toBe(alg);
    expect(Buffer.from(raw.input)).toEqual(createHash(hash).update(msg).digest());
    const d = new Uint8Array(digestLength).fill(9);
    expect(signingInput(keyRecord('RSA_2048'), alg, 'DIGEST', d).input).toBe(d);
  });

  it('ECDSA_SHA_512 on P-521 hashes with SHA-512', () => {
    expect(Buffer.from(signingInput(keyRecord('ECC_NIST_P521'), 'ECDSA_SHA_512', 'RAW', msg).input)).toEqual(createHash('sha512').update(msg).digest());
  });

  it.each([
    ['ECC_NIST_P256', 'RSASSA_PSS_SHA_256', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.'],
    ['ECC_NIST_P521', 'ECDSA_SHA_256', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm ECDSA_SHA_256 is incompatible with key spec ECC_NIST_P521.'],
    ['RSA_2048', 'ECDSA_SHA_256', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048.'],
    ['RSA_4096', 'ED25519_SHA_512', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm ED25519_SHA_512 is incompatible with key spec RSA_4096.'],
    ['RSA_2048', 'RSASSA_PSS_SHA_384', 'DIGEST', 32, 'ValidationException', 'Digest is invalid length for algorithm RSASSA_PSS_SHA_384.'],
    ['RSA_3072', 'RSASSA_PKCS1_V1_5_SHA_256', 'DIGEST', 64, 'ValidationException', 'Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_256.'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'DIGEST', 66, 'ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_512.'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256', 'EXTERNAL_MU', 64, 'ValidationException', 'Message type EXTERNAL_MU is incompatible with key spec RSA_2048.'],
  ] as const)('%s %s %s (%d bytes) → %s', (spec, alg, type, len, errType, message) => {
    const e = err(() => signingInput(keyRecord(spec), alg, type, new Uint8Array(len)));
    expect([e.type, e.message]).toEqual([errType, message]);
  });
});

describe('RSASSA building blocks (RFC 8017)', () => {
  it('EMSA-PKCS1-v1_5 of SHA-256 is 00 01 FF… 00 ‖ DigestInfo ‖ H', () => {
    const h = new Uint8Array(32).fill(0xab);
    const em = emsaPkcs1v15Encode('sha256', h, 64);
    expect(Buffer.from(em).toString('hex')).toBe(`0001${'ff'.repeat(64 - 3 - 19 - 32)}00` + '3031300d060960864801650304020105000420' + 'ab'.repeat(32));
  });

  it('MGF1-SHA-256 is the concatenation of SHA-256(seed ‖ counter)', () => {
    const seed = Uint8Array.of(1, 2, 3);
    const expected = Buffer.concat(
      [0, 1].map((i) =>
        createHash('sha256')
          .update(Buffer.from([1, 2, 3, 0, 0, 0, i]))
          .digest(),
      ),
    ).subarray(0, 40);
    expect(Buffer.from(mgf1('sha256', seed, 40))).toEqual(expected);
  });
});

describe('verifySignature for RSA (signatures made by node:crypto)', () => {
  let privateKey: KeyObject;
  let spki: Uint8Array;
  beforeAll(() => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  });

  const message = new TextEncoder().encode('pay 1 unit');
  const ok = (alg: SupportedSigningAlgorithm, sig: Uint8Array, spec: SupportedKeySpec = 'RSA_2048') => {
    const { input } = signingInput(keyRecord(spec), alg, 'RAW', message);
    verifySignature(CTX, keyRecord(spec, spki), alg, input, sig);
  };
  const bad = (alg: SupportedSigningAlgorithm, sig: Uint8Array) =>
    expect(err(() => ok(alg, sig))).toMatchObject({ type: 'KMSInvalidSignatureException', message: '' });
  const pss = (hash: string, saltLength: number) =>
    new Uint8Array(nodeSign(hash, message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }));
  const pkcs1 = (hash: string) => new Uint8Array(nodeSign(hash, message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }));

  it.each([
    ['256', 32],
    ['384', 48],
    ['512', 64],
  ] as const)('SHA-%s: PKCS#1 v1.5, and PSS with salt = %d bytes', (bits, hLen) => {
    ok(`RSASSA_PKCS1_V1_5_SHA_${bits}`, pkcs1(`sha${bits}`));
    ok(`RSASSA_PSS_SHA_${bits}`, pss(`sha${bits}`, hLen));
  });

  it('refuses PSS with another salt length (AWS fixes it to the digest length)', () => {
    bad('RSASSA_PSS_SHA_256', pss('sha256', 0));
    bad('RSASSA_PSS_SHA_256', pss('sha256', 20));
    bad('RSASSA_PSS_SHA_256', pss('sha256', constants.RSA_PSS_SALTLEN_MAX_SIGN));
  });

  it('refuses a signature of the other scheme, another hash, or a wrong size', () => {
    bad('RSASSA_PSS_SHA_256', pkcs1('sha256'));
    bad('RSASSA_PKCS1_V1_5_SHA_256', pss('sha256', 32));
    bad('RSASSA_PKCS1_V1_5_SHA_384', pkcs1('sha256'));
    const sig = pkcs1('sha256');
    bad('RSASSA_PKCS1_V1_5_SHA_256', sig.subarray(1));
    bad('RSASSA_PKCS1_V1_5_SHA_256', Uint8Array.of(0, ...sig));
    bad('RSASSA_PKCS1_V1_5_SHA_256', new Uint8Array(256).fill(0xff)); // ≥ n
    const flipped = sig.slice();
    flipped[100]! ^= 1;
    bad('RSASSA_PKCS1_V1_5_SHA_256', flipped);
  });

  it('a key of the wrong type never verifies', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const { input } = signingInput(keyRecord('RSA_2048'), 'RSASSA_PKCS1_V1_5_SHA_256', 'RAW', message);
    expect(err(() => verifySignature(CTX, keyRecord('RSA_2048', new Uint8Array(ec)), 'RSASSA_PKCS1_V1_5_SHA_256', input, pkcs1('sha256'))).type).toBe(
      'KMSInvalidSignatureException',
    );
  });
});

describe('verifySignature for P-521', () => {
  it('accepts noble and node:crypto DER signatures over the SHA-512 digest, high-S included', () => {
    const priv = p521.utils.randomSecretKey();
    const raw = p521.getPublicKey(priv, false).subarray(1);
    const k = keyRecord('ECC_NIST_P521', spkiFromRawPublicKey('ECC_NIST_P521', raw));
    const digest = createHash('sha512').update('m').digest();
    const sig = p521.sign(digest, priv, { prehash: false, lowS: true });
    verifySignature(CTX, k, 'ECDSA_SHA_512', digest, sig.toBytes('der'));
    const highS = new p521.Signature(sig.r, p521.CURVE.n - sig.s);
    verifySignature(CTX, k, 'ECDSA_SHA_512', digest, highS.toBytes('der'));
    expect(err(() => verifySignature(CTX, k, 'ECDSA_SHA_512', createHash('sha512').update('n').digest(), sig.toBytes('der'))).type).toBe(
      'KMSInvalidSignatureException',
    );

    const pair = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const k2 = keyRecord('ECC_NIST_P521', new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })));
    const der = nodeSign('sha512', Buffer.from('m'), { key: pair.privateKey, dsaEncoding: 'der' });
    verifySignature(CTX, k2, 'ECDSA_SHA_512', digest, der);
  });
});

describe('spkiFromRawPublicKey for RSA and P-521', () => {
  it.each([2048, 3072] as const)('RSA %d: the modulus alone gives the SPKI node:crypto exports (e = 65537)', (bits) => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const n = Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url');
    expect(n).toHaveLength(bits / 8);
    const spec = `RSA_${bits}` as const;
    expect(Buffer.from(spkiFromRawPublicKey(spec, n))).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('RSA: refuses a modulus of the wrong size or with its top bit clear', () => {
    const n = new Uint8Array(256).fill(0xc5);
    expect(spkiFromRawPublicKey('RSA_2048', n)).toHaveLength(294);
    expect(() => spkiFromRawPublicKey('RSA_2048', n.subarray(1))).toThrow(RangeError);
    expect(() => spkiFromRawPublicKey('RSA_3072', n)).toThrow(RangeError);
    expect(() => spkiFromRawPublicKey('RSA_2048', Uint8Array.of(0x45, ...n.subarray(1)))).toThrow(RangeError);
  });

  it('P-521: 66-byte X ‖ Y gives the SPKI node:crypto exports; off-curve points are refused', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    expect(raw).toHaveLength(132);
    expect(Buffer.from(spkiFromRawPublicKey('ECC_NIST_P521', raw))).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
    expect(() => spkiFromRawPublicKey('ECC_NIST_P521', new Uint8Array(132).fill(1))).toThrow();
    expect(() => spkiFromRawPublicKey('ECC_NIST_P521', new Uint8Array(130))).toThrow(RangeError);
  });
});
