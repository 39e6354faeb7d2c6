/**
 * Byte layout primitives. Every command codec and the SCP03 channel build and parse bytes only
 * through these, so offsets are never counted by hand. All integers are big-endian
 * (YubiHSM 2 wire convention).
 */
import { assertBytes, assertInt, assertU64 } from './check';
import { DeviceErrorCode, ProtocolError } from './errors';

/**
 * Largest whole message (`cmd || len || payload`) a YubiHSM 2 accepts from firmware 2.4.0 on:
 * `YH_MSG_BUF_SIZE` in yubihsm-shell `lib/yubihsm.h`, python-yubihsm `_msg_buf_size`.
 */
export const MAX_MSG_SIZE = 3136;
/** Same limit before firmware 2.4.0 (python-yubihsm `_msg_buf_size`; yubihsm.rs `MAX_MSG_SIZE`). */
export const LEGACY_MAX_MSG_SIZE = 2048;
/** `cmd(1) || len(2)`. */
export const FRAME_HEADER_LENGTH = 3;
/** Object labels are 40 raw bytes, zero-padded (Yubico object model, `YH_OBJ_LABEL_LEN`). */
export const LABEL_LENGTH = 40;

/**
 * Malformed bytes. It is a ProtocolError for the host; `deviceCode` is what a device answers to
 * such input, so the simulator can turn it into `7f 00 01 <deviceCode>`.
 */
export class WireError extends ProtocolError {
  readonly deviceCode: number;

  constructor(message: string, deviceCode: number = DeviceErrorCode.WRONG_LENGTH) {
    super('framing', message);
    this.name = 'WireError';
    this.deviceCode = deviceCode;
  }
}

export class WireWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  /**
   * Makes room for `n` more bytes and returns where they start; read `this.buf` only after calling
   * it (it may be replaced). No view per field: frames are built on every exchange.
   */
  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
    }
    this.len += n;
    return at;
  }

  /** `field` names the value in the RangeError/TypeError thrown for a bad argument. */
  u8(n: number, field = 'u8'): this {
    assertInt(field, n, 0, 0xff);
    const at = this.reserve(1);
    this.buf[at] = n;
    return this;
  }

  u16(n: number, field = 'u16'): this {
    assertInt(field, n, 0, 0xffff);
    const at = this.reserve(2);
    this.buf[at] = n >>> 8;
    this.buf[at + 1] = n & 0xff;
    return this;
  }

  u32(n: number, field = 'u32'): this {
    assertInt(field, n, 0, 0xffffffff);
    const at = this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + at, 4).setUint32(0, n, false);
    return this;
  }

  u64(n: bigint, field = 'u64'): this {
    assertU64(field, n);
    const at = this.reserve(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + at, 8).setBigUint64(0, n, false);
    return this;
  }

  bytes(b: Uint8Array, field = 'bytes'): this {
    assertBytes(field, b);
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** Bytes that must have exactly `length` bytes (challenges, MACs, keys). */
  fixedBytes(b: Uint8Array, length: number, field = 'bytes'): this {
    assertBytes(field, b, length);
    const at = this.reserve(length);
    this.buf.set(b, at);
    return this;
  }

  /** A 40-byte label: UTF-8 of a string, or raw bytes, zero-padded. */
  label(l: string | Uint8Array, field = 'label'): this {
    const raw = typeof l === 'string' ? new TextEncoder().encode(l) : l;
    assertBytes(field, raw, { max: LABEL_LENGTH });
    const at = this.reserve(LABEL_LENGTH);
    this.buf.set(raw, at);
    return this;
  }

  get length(): number {
    return this.len;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class WireReader {
  private readonly buf: Uint8Array;
  private pos = 0;

  constructor(b: Uint8Array) {
    assertBytes('bytes', b);
    this.buf = b;
  }

  private take(n: number): Uint8Array {
    if (n > this.remaining) {
      throw new WireError(`truncated: need ${n} more bytes at offset ${this.pos}, ${this.remaining} left`);
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const v = this.take(2);
    return (v[0]! << 8) | v[1]!;
  }

  u32(): number {
    const v = this.take(4);
    return new DataView(v.buffer, v.byteOffset, 4).getUint32(0, false);
  }

  u64(): bigint {
    const v = this.take(8);
    return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, false);
  }

  /** A copy, so callers may keep or zero it without touching the message buffer. */
  bytes(n: number): Uint8Array {
    return this.take(n).slice();
  }

  rest(): Uint8Array {
    return this.take(this.remaining).slice();
  }

  /** Everything except the last `trailing` bytes, which stay to be read (e.g. a trailing MAC). */
  restExcept(trailing: number): Uint8Array {
    if (trailing > this.remaining) {
      throw new WireError(`truncated: need at least ${trailing} bytes at offset ${this.pos}, ${this.remaining} left`);
    }
    return this.bytes(this.remaining - trailing);
  }

  /** 40 bytes with the zero padding stripped. */
  label(): Uint8Array {
    const raw = this.take(LABEL_LENGTH);
    let end = raw.length;
    while (end > 0 && raw[end - 1] === 0) end--;
    return raw.slice(0, end);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  end(): void {
    if (this.remaining !== 0) throw new WireError(`${this.remaining} unexpected trailing bytes`);
  }
}

/** `cmd || len(2) || payload`. Throws RangeError when the frame would exceed MAX_MSG_SIZE. */
export function frame(code: number, payload: Uint8Array): Uint8Array {
  assertInt('code', code, 0, 0xff);
  assertBytes('payload', payload, { max: MAX_MSG_SIZE - FRAME_HEADER_LENGTH });
  return new WireWriter().u8(code).u16(payload.length).bytes(payload).finish();
}

/** Inverse of `frame`; the length field must match the bytes that follow exactly. */
export function parseFrame(bytes: Uint8Array): { code: number; payload: Uint8Array } {
  assertBytes('bytes', bytes);
  if (bytes.length > MAX_MSG_SIZE) throw new WireError(`frame of ${bytes.length} bytes exceeds ${MAX_MSG_SIZE}`);
  const r = new WireReader(bytes);
  const code = r.u8();
  const length = r.u16();
  if (length !== r.remaining) {
    throw new WireError(`frame length field says ${length} bytes, ${r.remaining} follow`);
  }
  return { code, payload: r.rest() };
}
