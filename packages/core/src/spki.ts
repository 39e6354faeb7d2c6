import { createPublicKey } from 'node:crypto';
import { KEY_SPECS, type SupportedKeySpec } from './kms/key-specs';

const JWK_CURVE = { p256: 'P-256', p384: 'P-384', secp256k1: 'secp256k1' } as const;

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * DER SubjectPublicKeyInfo from a device's raw public key: `X || Y` for EC curves (no 0x04
 * prefix, as YubiHSM 2 GET_PUBLIC_KEY returns it) or the 32-byte point for Ed25519.
 * node:crypto does the ASN.1 and rejects points that are not on the curve.
 */
export function spkiFromRawPublicKey(spec: SupportedKeySpec, raw: Uint8Array): Uint8Array {
  const info = KEY_SPECS[spec];
  if (info.kind === 'ed25519') {
    if (raw.length !== 32) throw new RangeError(`raw Ed25519 public key must be 32 bytes, got ${raw.length}`);
    return der(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' }));
  }
  const n = info.coordinateLength;
  if (raw.length !== 2 * n) throw new RangeError(`raw ${spec} public key must be ${2 * n} bytes, got ${raw.length}`);
  return der(createPublicKey({
    key: { kty: 'EC', crv: JWK_CURVE[info.curve], x: b64url(raw.subarray(0, n)), y: b64url(raw.subarray(n)) },
    format: 'jwk',
  }));
}

function der(key: ReturnType<typeof createPublicKey>): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}
