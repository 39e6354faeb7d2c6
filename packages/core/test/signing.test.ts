import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { p256 } from '@noble/curves/nist';
import { KmsError, signingInput, spkiFromRawPublicKey, verifySignature, type KeyRecord, type SupportedKeySpec } from '../src';

const CTX = { region: 'us-east-1', accountId: '111122223333' };

function key(spec: SupportedKeySpec, publicKey: Uint8Array = new Uint8Array()): KeyRecord {
  return {
    keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    createdAt: new Date(0),
    description: '',
    keyUsage: 'SIGN_VERIFY',
    keySpec: spec,
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    backendId: 'b',
    handle: '1',
    publicKey,
  };
}

function err(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('signingInput (AWS Sign/Verify rules)', () => {
  const msg = new TextEncoder().encode('hello');

  it('hashes RAW messages for ECDSA and passes DIGESTs through', () => {
    const raw = signingInput(key('ECC_NIST_P384'), 'ECDSA_SHA_384', 'RAW', msg);
    expect(Buffer.from(raw.input)).toEqual(createHash('sha384').update(msg).digest());
    const d = new Uint8Array(32).fill(7);
    expect(signingInput(key('ECC_SECG_P256K1'), 'ECDSA_SHA_256', 'DIGEST', d).input).toBe(d);
  });

  it('signs the message itself for pure Ed25519', () => {
    expect(signingInput(key('ECC_NIST_EDWARDS25519'), 'ED25519_SHA_512', 'RAW', msg).input).toBe(msg);
  });

  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_384', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.'],
    ['ECC_NIST_P256', 'ED25519_SHA_512', 'RAW', 5, 'InvalidKeyUsageException', 'Algorithm ED25519_SHA_512 is incompatible with key spec ECC_NIST_P256.'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'DIGEST', 31, 'ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'DIGEST', 32, 'ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_384.'],
    [
      'ECC_NIST_EDWARDS25519',
      'ED25519_SHA_512',
      'DIGEST',
      64,
      'ValidationException',
      'Message type DIGEST is incompatible with signing algorithm ED25519_SHA_512.',
    ],
    [
      'ECC_NIST_EDWARDS25519',
      'ED25519_PH_SHA_512',
      'RAW',
      64,
      'ValidationException',
      'Message type RAW is incompatible with signing algorithm ED25519_PH_SHA_512.',
    ],
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'EXTERNAL_MU', 64, 'ValidationException', 'Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256.'],
  ] as const)('%s %s %s (%d bytes) → %s', (spec, alg, type, len, errType, message) => {
    const e = err(() => signingInput(key(spec), alg, type, new Uint8Array(len)));
    expect([e.type, e.message]).toEqual([errType, message]);
  });
});

describe('verifySignature', () => {
  it('accepts a valid P-256 DER signature over a digest, including high-S, and rejects others', () => {
    const priv = p256.utils.randomPrivateKey();
    const pub = p256.getPublicKey(priv, false);
    const k = key('ECC_NIST_P256', spkiFromRawPublicKey('ECC_NIST_P256', pub.subarray(1)));
    const digest = createHash('sha256').update('m').digest();
    const sig = p256.sign(digest, priv, { prehash: false });
    verifySignature(CTX, k, 'ECDSA_SHA_256', digest, sig.toDERRawBytes());
    const highS = new p256.Signature(sig.r, p256.CURVE.n - sig.s);
    verifySignature(CTX, k, 'ECDSA_SHA_256', digest, highS.toDERRawBytes());
    const other = createHash('sha256').update('n').digest();
    expect(err(() => verifySignature(CTX, k, 'ECDSA_SHA_256', other, sig.toDERRawBytes()))).toMatchObject({
      type: 'KMSInvalidSignatureException',
      message: '',
    });
    expect(err(() => verifySignature(CTX, k, 'ECDSA_SHA_256', digest, new Uint8Array([0x30, 1, 2]))).type).toBe('KMSInvalidSignatureException');
  });

  it('verifies Ed25519 over the raw message', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const msg = Buffer.from('solana message');
    const sig = nodeSign(null, msg, privateKey);
    verifySignature(CTX, key('ECC_NIST_EDWARDS25519', spki), 'ED25519_SHA_512', msg, sig);
    sig[0]! ^= 1;
    expect(err(() => verifySignature(CTX, key('ECC_NIST_EDWARDS25519', spki), 'ED25519_SHA_512', msg, sig)).type).toBe('KMSInvalidSignatureException');
  });
});

describe('spkiFromRawPublicKey', () => {
  it('builds the SPKI node:crypto would export, and refuses points off the curve', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    expect(Buffer.from(spkiFromRawPublicKey('ECC_SECG_P256K1', raw))).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
    expect(() => spkiFromRawPublicKey('ECC_NIST_P256', new Uint8Array(64).fill(1))).toThrow();
    expect(() => spkiFromRawPublicKey('ECC_NIST_P256', new Uint8Array(63))).toThrow(RangeError);
  });
});
