// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-set-option.html
import { Command } from '../codes';
import { WireError, WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.SET_OPTION;

/** One option as TLV: `tag(1) || length(2) || value`. Values per tag: see OptionTag and the option codecs below. */
export interface Request {
  tag: number;
  value: Uint8Array;
}

export type Response = Empty;

export function encodeRequest(req: Request): Uint8Array {
  return new WireWriter().u8(req.tag, 'tag').u16(req.value.length, 'value.length').bytes(req.value, 'value').finish();
}

/** The length field must match the bytes that follow exactly. */
export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const tag = r.u8();
  const length = r.u16();
  if (length !== r.remaining) throw new WireError(`option length says ${length} bytes, ${r.remaining} follow`);
  return { tag, value: r.rest() };
}

export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;

/**
 * The value of the command-audit and algorithm-toggle options: `(code(1), setting(1))` pairs, in
 * SET_OPTION and in GET_OPTION's answer alike.
 */
export function encodePairs(pairs: ReadonlyMap<number, number>): Uint8Array {
  const w = new WireWriter();
  for (const [code, setting] of pairs) w.u8(code, 'code').u8(setting, 'setting');
  return w.finish();
}

export function decodePairs(value: Uint8Array): Map<number, number> {
  if (value.length % 2 !== 0) throw new WireError(`option value of ${value.length} bytes is not a list of pairs`);
  const pairs = new Map<number, number>();
  for (let i = 0; i < value.length; i += 2) pairs.set(value[i]!, value[i + 1]!);
  return pairs;
}
