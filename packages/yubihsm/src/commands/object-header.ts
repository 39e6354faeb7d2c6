/**
 * The header every PUT_* and GENERATE_* command starts with:
 * `ID(2) || Label(40) || Domains(2) || Capabilities(8) || Algorithm(1)`.
 * Object ID 0 asks the device to choose one.
 */
import { WireReader, WireWriter } from '../wire';

export interface ObjectHeader {
  /** 0 = let the device pick. */
  id: number;
  /** Raw label bytes, at most 40; zero padding is added on the wire and stripped when read. */
  label: Uint8Array;
  /** 16-bit domain mask: domain n is bit n−1. */
  domains: number;
  capabilities: bigint;
  algorithm: number;
}

export function writeObjectHeader(w: WireWriter, h: ObjectHeader): WireWriter {
  return w.u16(h.id, 'id').label(h.label, 'label').u16(h.domains, 'domains').u64(h.capabilities, 'capabilities').u8(h.algorithm, 'algorithm');
}

export function readObjectHeader(r: WireReader): ObjectHeader {
  return { id: r.u16(), label: r.label(), domains: r.u16(), capabilities: r.u64(), algorithm: r.u8() };
}
