import { ed25519 } from '@noble/curves/ed25519';
import { p256 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { equalBytes } from './bytes';
import { DecodeError, fail } from './errors';

export type KeyType = 'secp256k1' | 'p256' | 'ed25519';

export interface ParsedKey {
  type: KeyType;
  /** SEC1 uncompressed point (65 bytes) for the EC curves, the 32-byte point for Ed25519. */
  publicKey: Uint8Array;
}

/**
 * The DER prefixes of the SubjectPublicKeyInfo forms we accept (RFC 5480 for EC with the
 * namedCurve OID, RFC 8410 for Ed25519), each followed directly by the BIT STRING contents.
 * A fixed-prefix match is the strictest parse: any other encoding of the same key is refused.
 */
const SPKI_PREFIXES: readonly { type: KeyType; prefix: Uint8Array; pointLength: number }[] = [
  // SEQUENCE { SEQUENCE { id-ecPublicKey, secp256k1 (1.3.132.0.10) }, BIT STRING (65 | 33) }
  { type: 'secp256k1', prefix: hex('3056301006072a8648ce3d020106052b8104000a034200'), pointLength: 65 },
  { type: 'secp256k1', prefix: hex('3036301006072a8648ce3d020106052b8104000a032200'), pointLength: 33 },
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 (1.2.840.10045.3.1.7) }, BIT STRING }
  { type: 'p256', prefix: hex('3059301306072a8648ce3d020106082a8648ce3d030107034200'), pointLength: 65 },
  { type: 'p256', prefix: hex('3039301306072a8648ce3d020106082a8648ce3d030107032200'), pointLength: 33 },
  // SEQUENCE { SEQUENCE { id-Ed25519 (1.3.101.112) }, BIT STRING (32) }
  { type: 'ed25519', prefix: hex('302a300506032b6570032100'), pointLength: 32 },
];

export function parseSpki(spki: unknown): ParsedKey {
  if (!(spki instanceof Uint8Array)) fail('INVALID_ARGUMENT', 'spki must be a Uint8Array');
  for (const { type, prefix, pointLength } of SPKI_PREFIXES) {
    if (spki.length !== prefix.length + pointLength) continue;
    if (!equalBytes(spki.subarray(0, prefix.length), prefix)) continue;
    const point = spki.subarray(prefix.length);
    try {
      if (type === 'ed25519') {
        ed25519.Point.fromHex(point);
        return { type, publicKey: point.slice() };
      }
      const curve = type === 'secp256k1' ? secp256k1 : p256;
      return { type, publicKey: curve.Point.fromHex(point).toRawBytes(false) };
    } catch {
      throw new DecodeError('KEY_INVALID', `spki holds a ${type} point that is not on the curve`);
    }
  }
  fail('KEY_INVALID', 'spki is not a secp256k1, P-256 or Ed25519 SubjectPublicKeyInfo');
}

/** Parses and checks the key is of `type`. */
export function parseSpkiOf(spki: unknown, type: KeyType, purpose: string): ParsedKey {
  const key = parseSpki(spki);
  if (key.type !== type) fail('KEY_TYPE_MISMATCH', `${purpose} needs a ${type} key, got ${key.type}`);
  return key;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}
