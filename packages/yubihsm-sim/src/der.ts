// The little DER (ITU-T X.690) the simulator needs to issue X.509 certificates: an encoder for
// the handful of types a certificate uses, and a reader that walks TLVs of a stored certificate.
// Nothing here interprets certificates; attestation.ts decides what goes where.

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, c) => sum + c.length, 0);
  const lengthBytes: number[] = [];
  if (length < 0x80) {
    lengthBytes.push(length);
  } else {
    for (let rest = length; rest > 0; rest >>>= 8) lengthBytes.unshift(rest & 0xff);
    lengthBytes.unshift(0x80 | lengthBytes.length);
  }
  const out = new Uint8Array(1 + lengthBytes.length + length);
  out[0] = tag;
  out.set(lengthBytes, 1);
  let at = 1 + lengthBytes.length;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...items);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, bytes);
export const utf8String = (bytes: Uint8Array): Uint8Array => tlv(TAG.UTF8_STRING, bytes);
export const nullValue = (): Uint8Array => tlv(TAG.NULL);
export const boolean = (value: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
/** Context-specific constructed tag [n] (explicit tagging). */
export const explicit = (n: number, ...items: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...items);

/** A BIT STRING of whole bytes (no unused bits). */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

/** A non-negative INTEGER in its minimal two's-complement form. */
export function integer(value: bigint | Uint8Array): Uint8Array {
  let bytes = typeof value === 'bigint' ? unsignedBytes(value) : value;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1]! < 0x80) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Uint8Array.of(0);
  return bytes[0]! >= 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), bytes) : tlv(TAG.INTEGER, bytes);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const first = arcs[0]! * 40n + arcs[1]!;
  const body: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    body.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(body));
}

/** UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  const text = year < 2050 ? digits.slice(2) : digits;
  return tlv(year < 2050 ? TAG.UTC_TIME : TAG.GENERALIZED_TIME, new TextEncoder().encode(text));
}

function unsignedBytes(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError('only non-negative integers are encoded');
  const hex = value.toString(16);
  return new Uint8Array(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
}

/** One decoded TLV: its tag, its contents, and the whole encoding (for copying it verbatim). */
export interface Element {
  tag: number;
  contents: Uint8Array;
  encoded: Uint8Array;
}

/** Thrown for bytes that are not the DER the caller expected. */
export class DerError extends Error {}

/** The TLVs that make up `bytes`, in order; throws DerError unless they cover it exactly. */
export function children(bytes: Uint8Array): Element[] {
  const out: Element[] = [];
  let at = 0;
  while (at < bytes.length) {
    const element = readElement(bytes, at);
    out.push(element);
    at += element.encoded.length;
  }
  return out;
}

function readElement(bytes: Uint8Array, start: number): Element {
  if (start + 2 > bytes.length) throw new DerError('truncated TLV');
  const tag = bytes[start]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in certificates');
  let length = bytes[start + 1]!;
  let at = start + 2;
  if (length >= 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || at + count > bytes.length) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[at + i]!;
    at += count;
  }
  if (at + length > bytes.length) throw new DerError('truncated contents');
  return { tag, contents: bytes.subarray(at, at + length), encoded: bytes.subarray(start, at + length) };
}

export { TAG };
