// Attestation: the X.509 certificates SIGN_ATTESTATION_CERTIFICATE issues, and the simulated
// device attestation key and certificate chain behind attesting key id 0.
//
// The device's own attestation key and its CA are SIMULATED. They are derived from a public
// constant (and the serial), so anyone can forge them: they prove nothing about any hardware and
// are named so that no one mistakes them for Yubico's. A real YubiHSM 2's attestation chain ends
// at Yubico's root; this one ends at "yubihsm-sim Attestation Root - SIMULATOR - NOT YUBICO".
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { p256 } from '@noble/curves/nist';
import { Algorithm, DeviceError, DeviceErrorCode } from '@kmsgate/yubihsm';
import {
  bitString,
  boolean,
  children,
  DerError,
  explicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  TAG,
  time,
  utf8String,
  type Element,
} from './der';
import { FIRMWARE } from './device-profile';
import { keySpec, signEcdsa, signPkcs1, subjectPublicKeyInfo, type KeySpec } from './key-crypto';
import type { StoredObject } from './object-store';

/** Attesting key id 0 and opaque id 0: the device's built-in attestation key and certificate. */
export const DEVICE_ATTESTATION_ID = 0;

/**
 * Yubico's attestation extensions, arc 1.3.6.1.4.1.41482.4 (developers.yubico.com
 * YubiHSM2/Concepts/Attestation; python-yubihsm `AttestationExtensions` reads the same numbers).
 * Origin, domains and capabilities are BIT STRINGs whose bytes are the big-endian field values.
 */
const EXT = {
  FIRMWARE_VERSION: '1.3.6.1.4.1.41482.4.1',
  SERIAL: '1.3.6.1.4.1.41482.4.2',
  ORIGIN: '1.3.6.1.4.1.41482.4.3',
  DOMAINS: '1.3.6.1.4.1.41482.4.4',
  CAPABILITIES: '1.3.6.1.4.1.41482.4.5',
  OBJECT_ID: '1.3.6.1.4.1.41482.4.6',
  LABEL: '1.3.6.1.4.1.41482.4.9',
} as const;

/** RFC 5758 §3.2 ecdsa-with-SHA256 (no parameters); RFC 8017 App. C sha256WithRSAEncryption (NULL parameters). */
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), nullValue());

/** Who signs an attestation certificate, and what it copies from its own certificate. */
export interface AttestationSigner {
  /** DER Name: the attesting certificate's subject. */
  readonly issuer: Uint8Array;
  /** DER Validity, copied from the attesting certificate. */
  readonly validity: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  sign(tbs: Uint8Array): Uint8Array;
}

function signerFor(spec: KeySpec, secret: Uint8Array, issuer: Uint8Array, validity: Uint8Array): AttestationSigner {
  if (spec.kind === 'eddsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const hash = (tbs: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(tbs).digest());
  if (spec.kind === 'rsa') {
    return { issuer, validity, signatureAlgorithm: SHA256_WITH_RSA, sign: (tbs) => signPkcs1(secret, hash(tbs)) };
  }
  return { issuer, validity, signatureAlgorithm: ECDSA_WITH_SHA256, sign: (tbs) => signEcdsa(spec, secret, hash(tbs)) };
}

export const attestingSigner = {
  /** The device's built-in attestation key, certified by the simulated CA. */
  device(serial: number): AttestationSigner {
    const { key, certificate } = deviceAttestation(serial);
    const fields = certificateFields(certificate);
    return signerFor(keySpec(Algorithm.EC_P256)!, key, fields.subject.encoded, fields.validity.encoded);
  },

  /**
   * A user's attesting key; its certificate is the X.509 opaque object with the same id, used as
   * the template for issuer and validity (python-yubihsm `AsymmetricKey.attest` docs). Like
   * python-yubihsm's reader, a gzipped certificate is accepted.
   */
  stored(attesting: StoredObject, template: StoredObject): AttestationSigner {
    const spec = keySpec(attesting.algorithm);
    if (spec === undefined || template.algorithm !== Algorithm.OPAQUE_X509_CERTIFICATE) {
      throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    }
    const fields = certificateFields(maybeGunzip(template.secret));
    return signerFor(spec, attesting.secret, fields.subject.encoded, fields.validity.encoded);
  },
};

/** The certificate for `subject` that SIGN_ATTESTATION_CERTIFICATE returns. */
export function issueAttestationCertificate(signer: AttestationSigner, subject: StoredObject, spec: KeySpec, serial: number): Uint8Array {
  const label = subject.label.subarray(0, labelEnd(subject.label));
  const extensions = [
    extension(EXT.FIRMWARE_VERSION, octetString(Uint8Array.of(FIRMWARE.major, FIRMWARE.minor, FIRMWARE.build))),
    extension(EXT.SERIAL, integer(BigInt(serial))),
    extension(EXT.ORIGIN, bitString(Uint8Array.of(subject.origin))),
    extension(EXT.DOMAINS, bitString(Uint8Array.of(subject.domains >> 8, subject.domains & 0xff))),
    extension(EXT.CAPABILITIES, bitString(u64(subject.capabilities))),
    extension(EXT.OBJECT_ID, integer(BigInt(subject.id))),
    extension(EXT.LABEL, utf8String(label)),
  ];
  const tbs = sequence(
    explicit(0, integer(2n)),
    integer(randomSerial()),
    signer.signatureAlgorithm,
    signer.issuer,
    signer.validity,
    commonName(`YubiHSM Attestation id:0x${subject.id.toString(16).padStart(4, '0')}`),
    subjectPublicKeyInfo(spec, subject.secret),
    explicit(3, sequence(...extensions)),
  );
  return sequence(tbs, signer.signatureAlgorithm, bitString(signer.sign(tbs)));
}

interface DeviceAttestation {
  /** P-256 scalar of the device attestation key. */
  key: Uint8Array;
  /** DER certificate of that key, issued by the simulated root (GET_OPAQUE id 0). */
  certificate: Uint8Array;
}

/** Fixed so that the simulated chain, like a device's, is the same on every start. */
const NOT_BEFORE = new Date('2024-01-01T00:00:00Z');
/** RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration date". */
const NOT_AFTER = new Date('9999-12-31T23:59:59Z');
const ROOT_NAME = 'yubihsm-sim Attestation Root - SIMULATOR - NOT YUBICO';
const ORGANIZATION = 'kmsgate yubihsm-sim - simulated device - not Yubico';

const deviceCache = new Map<number, DeviceAttestation>();

/** The simulated root CA certificate (DER) that every simulated device certificate chains to. */
export function simulatorAttestationRoot(): Uint8Array {
  return root().certificate;
}

/** The device attestation key and certificate of the simulated device with this serial. */
export function deviceAttestation(serial: number): DeviceAttestation {
  let cached = deviceCache.get(serial);
  if (cached === undefined) {
    const ca = root();
    const key = deriveScalar(`device attestation key ${serial}`);
    const certificate = caSigned(ca.key, {
      serial: BigInt(serial) + 1n,
      issuer: name(ROOT_NAME),
      subject: name(`yubihsm-sim Attestation serial ${serial} (SIMULATED)`),
      publicKey: p256.getPublicKey(key, false),
      extensions: [
        caExtensions(),
        extension(EXT.FIRMWARE_VERSION, octetString(Uint8Array.of(FIRMWARE.major, FIRMWARE.minor, FIRMWARE.build))),
        extension(EXT.SERIAL, integer(BigInt(serial))),
      ].flat(),
    });
    cached = { key, certificate };
    deviceCache.set(serial, cached);
  }
  return cached;
}

let rootCache: DeviceAttestation | undefined;

function root(): DeviceAttestation {
  if (rootCache === undefined) {
    const key = deriveScalar('attestation root key');
    const certificate = caSigned(key, {
      serial: 1n,
      issuer: name(ROOT_NAME),
      subject: name(ROOT_NAME),
      publicKey: p256.getPublicKey(key, false),
      extensions: caExtensions(),
    });
    rootCache = { key, certificate };
  }
  return rootCache;
}

/**
 * A P-256 scalar from a public label: HKDF-SHA256 output of 48 bytes reduced into [1, n−1]
 * (FIPS 186-5 A.2.1, "extra random bits"). Public on purpose: these keys are not secrets.
 */
function deriveScalar(info: string): Uint8Array {
  const n = p256.CURVE.n;
  const okm = Buffer.from(hkdfSync('sha256', 'kmsgate yubihsm-sim', 'simulated attestation (not secret)', info, 48));
  const d = (BigInt(`0x${okm.toString('hex')}`) % (n - 1n)) + 1n;
  return new Uint8Array(Buffer.from(d.toString(16).padStart(64, '0'), 'hex'));
}

interface CaCertificate {
  serial: bigint;
  issuer: Uint8Array;
  subject: Uint8Array;
  publicKey: Uint8Array;
  extensions: Uint8Array[];
}

/** A certificate signed with deterministic ECDSA (RFC 6979), so the chain is stable. */
function caSigned(caKey: Uint8Array, c: CaCertificate): Uint8Array {
  const tbs = sequence(
    explicit(0, integer(2n)),
    integer(c.serial),
    ECDSA_WITH_SHA256,
    c.issuer,
    sequence(time(NOT_BEFORE), time(NOT_AFTER)),
    c.subject,
    sequence(sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bitString(c.publicKey)),
    explicit(3, sequence(...c.extensions)),
  );
  const digest = createHash('sha256').update(tbs).digest();
  const signature = p256.sign(digest, caKey, { prehash: false, lowS: false }).toBytes('der');
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

/** basicConstraints cA=TRUE and keyUsage keyCertSign, both critical (RFC 5280 §4.2.1.9, §4.2.1.3). */
function caExtensions(): Uint8Array[] {
  return [
    extension('2.5.29.19', sequence(boolean(true)), true),
    // keyCertSign is bit 5: one byte 0b00000100 with 2 unused bits.
    extension('2.5.29.15', Uint8Array.of(TAG.BIT_STRING, 2, 2, 0x04), true),
  ];
}

function extension(id: string, value: Uint8Array, critical = false): Uint8Array {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function name(commonNameText: string): Uint8Array {
  const organization = set(sequence(oid('2.5.4.10'), utf8String(new TextEncoder().encode(ORGANIZATION))));
  const cn = set(sequence(oid('2.5.4.3'), utf8String(new TextEncoder().encode(commonNameText))));
  return sequence(organization, cn);
}

function commonName(text: string): Uint8Array {
  return sequence(set(sequence(oid('2.5.4.3'), utf8String(new TextEncoder().encode(text)))));
}

/** Subject and validity of a DER certificate; anything that is not one is INVALID_DATA. */
function certificateFields(der: Uint8Array): { subject: Element; validity: Element } {
  try {
    const [certificate] = children(der);
    if (certificate?.tag !== TAG.SEQUENCE) throw new DerError('not a SEQUENCE');
    const [tbs] = children(certificate.contents);
    if (tbs?.tag !== TAG.SEQUENCE) throw new DerError('no TBSCertificate');
    const fields = children(tbs.contents);
    // version [0] is optional (absent for v1): serial, signature, issuer, validity, subject follow.
    const at = fields[0]?.tag === 0xa0 ? 1 : 0;
    const validity = fields[at + 3];
    const subject = fields[at + 4];
    if (validity?.tag !== TAG.SEQUENCE || subject?.tag !== TAG.SEQUENCE) throw new DerError('no validity or subject');
    return { subject, validity };
  } catch (err) {
    if (err instanceof DerError) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    throw err;
  }
}

/** RFC 1952 magic number. */
function maybeGunzip(data: Uint8Array): Uint8Array {
  if (data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    return new Uint8Array(gunzipSync(data));
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  }
}

/** A positive serial number of at most 20 octets (RFC 5280 §4.1.2.2). */
function randomSerial(): bigint {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return BigInt(`0x${bytes.toString('hex')}`) || 1n;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

function labelEnd(label: Uint8Array): number {
  const zero = label.indexOf(0);
  return zero === -1 ? label.length : zero;
}
