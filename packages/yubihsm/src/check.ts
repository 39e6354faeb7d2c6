/**
 * Boundary checks for exported functions. Each throws TypeError (wrong type) or RangeError
 * (wrong size or value) naming the offending field, so a caller sees which argument is bad.
 */

export function assertBytes(field: string, value: unknown, length?: number | { min?: number; max?: number }): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${field} must be a Uint8Array`);
  if (length === undefined) return;
  if (typeof length === 'number') {
    if (value.length !== length) throw new RangeError(`${field} must be ${length} bytes, got ${value.length}`);
    return;
  }
  if (length.min !== undefined && value.length < length.min) {
    throw new RangeError(`${field} must be at least ${length.min} bytes, got ${value.length}`);
  }
  if (length.max !== undefined && value.length > length.max) {
    throw new RangeError(`${field} must be at most ${length.max} bytes, got ${value.length}`);
  }
}

export function assertInt(field: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${field} must be an integer`);
  if (value < min || value > max) throw new RangeError(`${field} must be between ${min} and ${max}, got ${value}`);
}

export function assertU64(field: string, value: unknown): asserts value is bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${field} must be a bigint`);
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`${field} must fit in 64 unsigned bits`);
}

export function assertString(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
}
