/**
 * Verifies a kmsgate TEE attestation offline, with node:crypto only: this file imports no kmsgate
 * code, so what it checks does not rest on the code that made the attestation.
 *
 * The attestation is the JSON GET /attestation returns (or the bridge's getAttestation result):
 * `signature` over the bytes domain ‖ nonce ‖ measurement (domain: the 26 ASCII bytes
 * `kmsgate-tee-attestation/v2`, protocol version 2), by the device attestation key `publicKey` (DER
 * SubjectPublicKeyInfo, hex), with `algorithm` ECDSA_P256_SHA256, ED25519 or RSASSA_PSS_SHA256.
 * It checks that the nonce is the one you chose (freshness), the signature, and, when given, the
 * measurement you expect (which TA) and the public key you pinned (which device). Without a pinned
 * key the key is trusted on first use.
 */
import { createHash, createPublicKey, timingSafeEqual, verify, constants } from 'node:crypto';

export interface AttestationDocument {
  algorithm: string;
  publicKey: string;
  measurement: string;
  nonce: string;
  signature: string;
  mode?: string;
  taUuid?: string;
  buildHash?: string;
}

export interface Expectations {
  /** The nonce you sent, hex. */
  nonce: string;
  /** The TA measurement you expect, hex (32 bytes). */
  measurement?: string;
  /** The pinned device attestation key, hex DER SPKI. */
  publicKey?: string;
}

export type Verdict = { ok: true; fingerprint: string; measurement: string; warnings: string[] } | { ok: false; reason: string };

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
/** The bridge protocol's ATTESTATION_DOMAIN, restated: this file imports no kmsgate code. */
const DOMAIN = Buffer.from('kmsgate-tee-attestation/v2', 'ascii');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function verifyAttestation(doc: unknown, expected: Expectations): Verdict {
  const d = doc as Partial<AttestationDocument>;
  if (typeof d !== 'object' || d === null) return { ok: false, reason: 'the attestation is not a JSON object' };
  for (const field of ['publicKey', 'measurement', 'nonce', 'signature'] as const) {
    if (typeof d[field] !== 'string' || !HEX.test(d[field]!)) return { ok: false, reason: `${field} is missing or not hex` };
  }
  if (!HEX.test(expected.nonce)) return { ok: false, reason: 'the expected nonce is not hex' };
  if (!sameHex(d.nonce!, expected.nonce)) return { ok: false, reason: 'the attestation is for another nonce (not fresh)' };
  if (Buffer.from(d.measurement!, 'hex').length !== 32) return { ok: false, reason: 'the measurement is not 32 bytes' };
  if (expected.measurement !== undefined && !sameHex(d.measurement!, expected.measurement))
    return { ok: false, reason: 'the measurement differs from the expected one (another TA build)' };
  if (expected.publicKey !== undefined && !sameHex(d.publicKey!, expected.publicKey))
    return { ok: false, reason: 'the attestation key differs from the pinned one (another device)' };

  let key;
  try {
    key = createPublicKey({ key: Buffer.from(d.publicKey!, 'hex'), format: 'der', type: 'spki' });
  } catch {
    return { ok: false, reason: 'publicKey is not a DER SubjectPublicKeyInfo' };
  }
  const signed = Buffer.concat([DOMAIN, Buffer.from(d.nonce!, 'hex'), Buffer.from(d.measurement!, 'hex')]);
  const signature = Buffer.from(d.signature!, 'hex');
  let valid: boolean;
  try {
    switch (d.algorithm) {
      case 'ECDSA_P256_SHA256':
        if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { ok: false, reason: 'ECDSA_P256_SHA256 with a key that is not P-256' };
        valid = verify('sha256', signed, key, signature);
        break;
      case 'ED25519':
        if (key.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'ED25519 with a key that is not Ed25519' };
        valid = verify(null, signed, key, signature);
        break;
      case 'RSASSA_PSS_SHA256':
        if (key.asymmetricKeyType !== 'rsa') return { ok: false, reason: 'RSASSA_PSS_SHA256 with a key that is not RSA' };
        valid = verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
        break;
      default:
        return { ok: false, reason: `unknown algorithm ${String(d.algorithm)}` };
    }
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'the signature does not verify over domain ‖ nonce ‖ measurement' };
  const warnings: string[] = [];
  if (d.mode === 'simulated') warnings.push('the attestation comes from a SIMULATED TEE: it proves nothing about hardware');
  if (expected.publicKey === undefined) warnings.push('no --public-key given: the attestation key is trusted on first use; pin the fingerprint below');
  if (expected.measurement === undefined) warnings.push('no --measurement given: any TA build is accepted');
  if (/^(?:00)+$/.test(d.measurement!)) warnings.push('the measurement is all zeros: this TEE did not measure the TA (no attestation PTA)');
  return {
    ok: true,
    fingerprint: createHash('sha256').update(Buffer.from(d.publicKey!, 'hex')).digest('hex'),
    measurement: d.measurement!.toLowerCase(),
    warnings,
  };
}
