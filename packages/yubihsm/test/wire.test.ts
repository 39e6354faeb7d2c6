import { DeviceErrorCode, ProtocolError } from '../src/errors';
import { MAX_MSG_SIZE, WireError, WireReader, WireWriter, frame, parseFrame } from '../src/wire';
import { hex } from './helpers/vectors';

describe('wire primitives', () => {
  it('writes big-endian integers, bytes and 40-byte labels', () => {
    const out = new WireWriter().u8(0xab).u16(0x1234).u32(0x01020304).u64(0x0102030405060708n).bytes(Uint8Array.of(9)).label('ab').finish();
    expect(hex(out)).toBe(`ab123401020304010203040506070809${'6162'.padEnd(80, '0')}`);
  });

  it('reads back what it wrote and strips label padding', () => {
    const bytes = new WireWriter()
      .u8(1)
      .u16(0xbeef)
      .u64(2n ** 63n)
      .label(Uint8Array.of(0, 7, 0))
      .bytes(Uint8Array.of(5, 6))
      .finish();
    const r = new WireReader(bytes);
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0xbeef);
    expect(r.u64()).toBe(2n ** 63n);
    // Only trailing zeros go: a label's interior zero bytes are data.
    expect(Array.from(r.label())).toEqual([0, 7]);
    expect(r.remaining).toBe(2);
    expect(Array.from(r.rest())).toEqual([5, 6]);
    r.end();
  });

  it('rejects values out of range, naming the field', () => {
    expect(() => new WireWriter().u8(256)).toThrow(RangeError);
    expect(() => new WireWriter().u16(-1, 'keyId')).toThrow('keyId must be between 0 and 65535, got -1');
    expect(() => new WireWriter().u16(1.5, 'keyId')).toThrow(TypeError);
    expect(() => new WireWriter().u64(1n << 64n, 'capabilities')).toThrow('capabilities must fit in 64 unsigned bits');
    expect(() => new WireWriter().label('x'.repeat(41))).toThrow(RangeError);
    expect(() => new WireWriter().label('é'.repeat(21))).toThrow('label must be at most 40 bytes, got 42');
    expect(() => new WireWriter().fixedBytes(new Uint8Array(7), 8, 'hostChallenge')).toThrow('hostChallenge must be 8 bytes, got 7');
    expect(() => new WireWriter().bytes([1, 2] as unknown as Uint8Array, 'digest')).toThrow(new TypeError('digest must be a Uint8Array'));
  });

  it('reading past the end throws WireError with WRONG_LENGTH, a ProtocolError', () => {
    const r = new WireReader(Uint8Array.of(1));
    let err: unknown;
    try {
      r.u16();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WireError);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as WireError).deviceCode).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(() => new WireReader(Uint8Array.of(1, 2)).end()).toThrow(WireError);
    expect(() => new WireReader(new Uint8Array(39)).label()).toThrow(WireError);
    expect(() => new WireReader(Uint8Array.of(1)).restExcept(2)).toThrow(WireError);
  });

  it('returns copies, not views of the message', () => {
    const msg = Uint8Array.of(1, 2, 3);
    const b = new WireReader(msg).bytes(3);
    b[0] = 9;
    expect(msg[0]).toBe(1);
  });

  it('frames and parses, checking the length field exactly', () => {
    expect(hex(frame(0x01, Uint8Array.of(1, 2, 3)))).toBe('010003010203');
    expect(parseFrame(Uint8Array.of(0x81, 0, 1, 7))).toEqual({ code: 0x81, payload: Uint8Array.of(7) });
    expect(parseFrame(Uint8Array.of(0x84, 0, 0))).toEqual({ code: 0x84, payload: new Uint8Array(0) });
    expect(() => parseFrame(Uint8Array.of(0x81, 0, 2, 7))).toThrow(WireError);
    expect(() => parseFrame(Uint8Array.of(0x81, 0, 0, 7))).toThrow(WireError);
    expect(() => parseFrame(Uint8Array.of(0x81, 0))).toThrow(WireError);
    expect(() => parseFrame(new Uint8Array(0))).toThrow(WireError);
  });

  it('enforces the 3136-byte message limit', () => {
    expect(MAX_MSG_SIZE).toBe(3136);
    expect(frame(0x01, new Uint8Array(MAX_MSG_SIZE - 3))).toHaveLength(MAX_MSG_SIZE);
    expect(() => frame(0x01, new Uint8Array(MAX_MSG_SIZE - 2))).toThrow(RangeError);
    const big = new Uint8Array(MAX_MSG_SIZE + 1);
    expect(() => parseFrame(big)).toThrow(WireError);
  });
});
