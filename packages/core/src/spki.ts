import { createPublicKey } from 'node:crypto';
import { keySpecInfo, type SupportedKeySpec } from './kms/key-specs';

const JWK_CURVE = { p256: 'P-256', p384: 'P-384', p521: 'P-521', secp256k1: 'secp256k1' } as const;

/** RSA public exponent 65537 as JWK `e`; the YubiHSM 2 generates RSA keys with no other. */
const RSA_E_65537 = 'AQAB';

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * DER SubjectPublicKeyInfo from a device's raw public key, as YubiHSM 2 GET_PUBLIC_KEY returns
 * it: `X || Y` for EC curves (no 0x04 prefix; 66-byte coordinates for P-521), the 32-byte point
 * for Ed25519, the big-endian modulus for RSA (its public exponent, 65537, is implicit).
 * node:crypto does the ASN.1 and rejects points that are not on the curve.
 */
export function spkiFromRawPublicKey(spec: SupportedKeySpec, raw: Uint8Array): Uint8Array {
  if (!(raw instanceof Uint8Array)) throw new TypeError('raw public key must be a Uint8Array');
  const info = keySpecInfo(spec);
  if (info.kind === 'ed25519') {
    if (raw.length !== 32) throw new RangeError(`raw Ed25519 public key must be 32 bytes, got ${raw.length}`);
    return der(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' }));
  }
  if (info.kind === 'rsa') {
    const n = info.modulusBits / 8;
    // A modulus of exactly modulusBits bits: n bytes with the top bit set.
    if (raw.length !== n || (raw[0]! & 0x80) === 0) throw new RangeError(`raw ${spec} modulus must be ${info.modulusBits} bits (${n} bytes, top bit set)`);
    return der(createPublicKey({ key: { kty: 'RSA', n: b64url(raw), e: RSA_E_65537 }, format: 'jwk' }));
  }
  if (info.kind === 'symmetric' || info.kind === 'hmac') throw new RangeError(`${spec} keys have no public key`);
  const n = info.coordinateLength;
  if (raw.length !== 2 * n) throw new RangeError(`raw ${spec} public key must be ${2 * n} bytes, got ${raw.length}`);
  return der(
    createPublicKey({
      key: { kty: 'EC', crv: JWK_CURVE[info.curve], x: b64url(raw.subarray(0, n)), y: b64url(raw.subarray(n)) },
      format: 'jwk',
    }),
  );
}

/**
 * The uncompressed point `04 ‖ X ‖ Y` of a DER SubjectPublicKeyInfo on the curve of `spec`
 * (ECDH peers). node:crypto parses the DER and refuses points that are not on the curve; a key on
 * another curve, or of another type, is a RangeError.
 */
export function ecPointFromSpki(spec: SupportedKeySpec, spki: Uint8Array): Uint8Array {
  const info = keySpecInfo(spec);
  if (info.kind !== 'ec') throw new RangeError(`${spec} keys do not agree keys`);
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ec' || jwk.crv !== JWK_CURVE[info.curve] || !jwk.x || !jwk.y) throw new RangeError(`the public key is not on ${spec}'s curve`);
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  const n = info.coordinateLength;
  const out = new Uint8Array(1 + 2 * n);
  out[0] = 0x04;
  out.set(x, 1 + n - x.length);
  out.set(y, 1 + 2 * n - y.length);
  return out;
}

function der(key: ReturnType<typeof createPublicKey>): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}
