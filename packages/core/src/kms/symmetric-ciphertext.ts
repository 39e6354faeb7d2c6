/**
 * kmsgate's ciphertext format for SYMMETRIC_DEFAULT keys, version 1 (docs/cryptography.md, which
 * is the byte-for-byte contract): a fresh data key per message, sealed by the key's backend
 * together with a digest of the header and encryption context, and the message under AES-256-GCM
 * on the host with header, sealed key and context as AAD. Every failure on the ciphertext's side is
 * InvalidCiphertextException with an empty message (AWS-recorded), whichever check caught it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../errors';

export const CIPHERTEXT_VERSION = 0x01;
/** Data key sealed by the backend (YubiHSM 2: WRAP_DATA, AES-256-CCM) + AES-256-GCM on the host. */
export const ALGORITHM_SEALED_DATA_KEY_AES_256_GCM = 0x01;
/** version(1) ‖ key id(16) ‖ material version(4) ‖ algorithm(1). */
export const HEADER_LENGTH = 22;
const DATA_KEY_LENGTH = 32;
const DIGEST_LENGTH = 32;
/** What the backend seals: the data key and the digest that binds it to its header and context. */
export const SEALED_PAYLOAD_LENGTH = DATA_KEY_LENGTH + DIGEST_LENGTH;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const DIGEST_PREFIX = new TextEncoder().encode('kmsgate-symmetric-v1');
/** An encryption-context key or value is length-prefixed with 2 bytes. */
const MAX_CONTEXT_FIELD = 0xffff;

export type EncryptionContext = Readonly<Record<string, string>>;

/** The parts of a version 1 ciphertext; `header` is its first HEADER_LENGTH bytes. */
export interface ParsedCiphertext {
  keyId: string;
  materialVersion: number;
  header: Uint8Array;
  sealed: Uint8Array;
  iv: Uint8Array;
  body: Uint8Array;
  tag: Uint8Array;
}

export function invalidCiphertext(): KmsError {
  return new KmsError('InvalidCiphertextException', '');
}

/**
 * `count(2) ‖ (len(key)(2) ‖ key ‖ len(value)(2) ‖ value)*`, entries sorted by the UTF-8 bytes of
 * their keys: order-independent and unambiguous ({"ab":"c"} ≠ {"a":"bc"}).
 */
export function canonicalContext(context: EncryptionContext | undefined): Uint8Array {
  const enc = new TextEncoder();
  const entries = Object.entries(context ?? {}).map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  if (entries.length > 0xffff) throw new KmsError('ValidationException', 'EncryptionContext has more than 65535 entries.');
  const parts: Uint8Array[] = [u16(entries.length)];
  for (const [k, v] of entries) {
    if (k.length > MAX_CONTEXT_FIELD || v.length > MAX_CONTEXT_FIELD)
      throw new KmsError('ValidationException', 'EncryptionContext keys and values must be at most 65535 bytes of UTF-8.');
    parts.push(u16(k.length), k, u16(v.length), v);
  }
  return concat(parts);
}

/**
 * Encrypts `plaintext` for key `keyId` (a UUID). `seal` is the key's backend sealing the
 * SEALED_PAYLOAD_LENGTH-byte payload; the data key is zeroed before this returns.
 */
export async function encryptSymmetric(
  keyId: string,
  materialVersion: number,
  plaintext: Uint8Array,
  context: EncryptionContext | undefined,
  seal: (payload: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const header = encodeHeader(keyId, materialVersion);
  const ctx = canonicalContext(context);
  const dataKey = randomBytes(DATA_KEY_LENGTH);
  try {
    const payload = concat([dataKey, digest(header, ctx)]);
    let sealed: Uint8Array;
    try {
      sealed = await seal(payload);
    } finally {
      payload.fill(0);
    }
    if (sealed.length < 1 || sealed.length > 0xffff) throw new RangeError(`the backend sealed ${SEALED_PAYLOAD_LENGTH} bytes into ${sealed.length}`);
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    cipher.setAAD(aad(header, sealed, ctx));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return concat([header, u16(sealed.length), sealed, iv, body, cipher.getAuthTag()]);
  } finally {
    dataKey.fill(0);
  }
}

/** Splits a ciphertext into its fields; InvalidCiphertextException for anything that is not version 1. */
export function parseCiphertext(blob: Uint8Array): ParsedCiphertext {
  if (blob.length < HEADER_LENGTH + 2) throw invalidCiphertext();
  if (blob[0] !== CIPHERTEXT_VERSION || blob[21] !== ALGORITHM_SEALED_DATA_KEY_AES_256_GCM) throw invalidCiphertext();
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const sealedLength = view.getUint16(HEADER_LENGTH);
  const sealedEnd = HEADER_LENGTH + 2 + sealedLength;
  if (sealedLength === 0 || blob.length < sealedEnd + IV_LENGTH + TAG_LENGTH) throw invalidCiphertext();
  return {
    keyId: uuidFromBytes(blob.subarray(1, 17)),
    materialVersion: view.getUint32(17),
    header: blob.subarray(0, HEADER_LENGTH),
    sealed: blob.subarray(HEADER_LENGTH + 2, sealedEnd),
    iv: blob.subarray(sealedEnd, sealedEnd + IV_LENGTH),
    body: blob.subarray(sealedEnd + IV_LENGTH, blob.length - TAG_LENGTH),
    tag: blob.subarray(blob.length - TAG_LENGTH),
  };
}

/**
 * Opens a parsed ciphertext. `unseal` is the key's backend opening `parsed.sealed` (it throws
 * InvalidCiphertextException when the device rejects it); the digest inside must match this
 * header and `context` before the body is touched. The data key is zeroed before this returns.
 */
export async function decryptSymmetric(
  parsed: ParsedCiphertext,
  context: EncryptionContext | undefined,
  unseal: (sealed: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const ctx = canonicalContext(context);
  const payload = await unseal(parsed.sealed);
  try {
    if (payload.length !== SEALED_PAYLOAD_LENGTH) throw invalidCiphertext();
    if (!timingSafeEqual(payload.subarray(DATA_KEY_LENGTH), digest(parsed.header, ctx))) throw invalidCiphertext();
    const decipher = createDecipheriv('aes-256-gcm', payload.subarray(0, DATA_KEY_LENGTH), parsed.iv);
    decipher.setAAD(aad(parsed.header, parsed.sealed, ctx));
    decipher.setAuthTag(parsed.tag);
    try {
      return new Uint8Array(Buffer.concat([decipher.update(parsed.body), decipher.final()]));
    } catch {
      throw invalidCiphertext();
    }
  } finally {
    payload.fill(0);
  }
}

function encodeHeader(keyId: string, materialVersion: number): Uint8Array {
  const header = new Uint8Array(HEADER_LENGTH);
  header[0] = CIPHERTEXT_VERSION;
  header.set(uuidBytes(keyId), 1);
  new DataView(header.buffer).setUint32(17, materialVersion);
  header[21] = ALGORITHM_SEALED_DATA_KEY_AES_256_GCM;
  return header;
}

function digest(header: Uint8Array, ctx: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(DIGEST_PREFIX).update(header).update(ctx).digest());
}

function aad(header: Uint8Array, sealed: Uint8Array, ctx: Uint8Array): Uint8Array {
  return concat([header, u16(sealed.length), sealed, ctx]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuidBytes(keyId: string): Uint8Array {
  if (!UUID.test(keyId)) throw new RangeError(`key id must be a lower-case UUID, got ${JSON.stringify(keyId)}`);
  return new Uint8Array(Buffer.from(keyId.replace(/-/g, ''), 'hex'));
}

function uuidFromBytes(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
