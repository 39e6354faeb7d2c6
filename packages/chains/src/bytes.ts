import { fail } from './errors';

/** Checks that `value` is a Uint8Array of at most `max` bytes (MESSAGE_TOO_LARGE beyond). */
export function checkBytes(name: string, value: unknown, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) fail('INVALID_ARGUMENT', `${name} must be a Uint8Array`);
  if (value.length > max) fail('MESSAGE_TOO_LARGE', `${name} is ${value.length} bytes, at most ${max} accepted`);
  return value;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text, or undefined when the bytes are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Little-endian unsigned integer of `length` bytes at `offset` (caller has checked bounds). */
export function readUintLE(bytes: Uint8Array, offset: number, length: number): bigint {
  let v = 0n;
  for (let i = length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]!);
  return v;
}

export function readUintBE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Nesting depth of a parsed JSON value, counted iteratively (no recursion to overflow). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) max = depth + 1;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}
