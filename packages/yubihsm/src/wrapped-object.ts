/**
 * The plaintext inside an EXPORT_WRAPPED / IMPORT_WRAPPED blob (before AES-CCM): a 59-byte header
 * followed by the object's body in the device's internal representation.
 *
 * Yubico does not document it. The layout is the one Yubico's offline wrapping tool writes for the
 * device to import (yubihsm-shell `yhwrap/main.c` `format_header`, `OBJECT_HEADER_SIZE 59`) and the
 * one found in blobs exported by hardware (archlinux/signstar `signstar-yubihsm2/tests/backup/*.yhw`):
 *
 * `WrapAlgorithm(1) || Capabilities(8) || ID(2) || BodyLength(2) || Domains(2) || Type(1) ||
 *  Algorithm(1) || Sequence(1) || Origin(1) || Label(40) || Body`
 */
import { DeviceErrorCode } from './errors';
import { WireError, WireReader, WireWriter } from './wire';

export const WRAPPED_HEADER_LENGTH = 59;

export interface WrappedObject {
  /** The wrap key's algorithm (AES128/192/256_CCM_WRAP); IMPORT_WRAPPED refuses a mismatch. */
  wrapAlgorithm: number;
  capabilities: bigint;
  id: number;
  domains: number;
  type: number;
  algorithm: number;
  sequence: number;
  origin: number;
  /** Raw label bytes, at most 40 (zero padding is added and stripped). */
  label: Uint8Array;
  body: Uint8Array;
}

export function encodeWrappedObject(o: WrappedObject): Uint8Array {
  return new WireWriter()
    .u8(o.wrapAlgorithm, 'wrapAlgorithm')
    .u64(o.capabilities, 'capabilities')
    .u16(o.id, 'id')
    .u16(o.body.length, 'body.length')
    .u16(o.domains, 'domains')
    .u8(o.type, 'type')
    .u8(o.algorithm, 'algorithm')
    .u8(o.sequence, 'sequence')
    .u8(o.origin, 'origin')
    .label(o.label, 'label')
    .bytes(o.body, 'body')
    .finish();
}

/**
 * Throws WireError with INVALID_DATA when the plaintext is not a header and a body of the
 * length it states: it decrypted, so its bytes are wrong rather than cut short in transit.
 */
export function decodeWrappedObject(plaintext: Uint8Array): WrappedObject {
  if (plaintext.length < WRAPPED_HEADER_LENGTH) {
    throw new WireError(`wrapped object of ${plaintext.length} bytes is shorter than its header`, DeviceErrorCode.INVALID_DATA);
  }
  const r = new WireReader(plaintext);
  const wrapAlgorithm = r.u8();
  const capabilities = r.u64();
  const id = r.u16();
  const length = r.u16();
  const domains = r.u16();
  const type = r.u8();
  const algorithm = r.u8();
  const sequence = r.u8();
  const origin = r.u8();
  const label = r.label();
  if (r.remaining !== length) {
    throw new WireError(`wrapped object says its body is ${length} bytes, ${r.remaining} follow`, DeviceErrorCode.INVALID_DATA);
  }
  return { wrapAlgorithm, capabilities, id, domains, type, algorithm, sequence, origin, label, body: r.rest() };
}
