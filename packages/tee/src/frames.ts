/**
 * Framing of the TEE bridge protocol: a 4-byte big-endian body length, then the body, a UTF-8
 * JSON envelope of at most MAX_FRAME_BYTES bytes. Shared by the client and the simulator so the
 * byte layout is written once.
 */
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './protocol';

/** One length-prefixed frame for a JSON value; RangeError if the body exceeds `maxBytes`. */
export function encodeFrame(value: unknown, maxBytes = MAX_FRAME_BYTES): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  if (body.length > maxBytes) throw new RangeError(`frame body is ${body.length} bytes, more than ${maxBytes}`);
  return frameBytes(body);
}

/** Length prefix plus the given body bytes (no size check: tests use it to build bad frames). */
export function frameBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

export type DecodedFrame =
  | { kind: 'frame'; body: Uint8Array }
  /** The announced length exceeds the limit: the stream cannot be resynchronised. */
  | { kind: 'too-large'; length: number }
  /** A zero-length body. */
  | { kind: 'empty' };

/** Accumulates stream chunks and yields whole frames. After 'too-large' it yields nothing more. */
export class FrameDecoder {
  readonly #maxBytes: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #broken = false;

  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.#broken || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Bytes of an incomplete frame are buffered (a header or body still being received). */
  get hasPartial(): boolean {
    return !this.#broken && this.#buffered > 0;
  }

  next(): DecodedFrame | undefined {
    if (this.#broken || this.#buffered < FRAME_HEADER_BYTES) return undefined;
    const head = this.#peek(FRAME_HEADER_BYTES);
    const length = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).getUint32(0, false);
    if (length > this.#maxBytes) {
      this.#broken = true;
      this.#chunks = [];
      this.#buffered = 0;
      return { kind: 'too-large', length };
    }
    if (this.#buffered < FRAME_HEADER_BYTES + length) return undefined;
    const all = this.#take(FRAME_HEADER_BYTES + length);
    if (length === 0) return { kind: 'empty' };
    return { kind: 'frame', body: all.subarray(FRAME_HEADER_BYTES) };
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.#concat().subarray(0, n);
  }

  #take(n: number): Uint8Array {
    const all = this.#concat();
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return all.subarray(0, n);
  }

  #concat(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#buffered);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.#chunks = [out];
    return out;
  }
}

/** Strict UTF-8 then JSON; undefined when the body is neither. */
export function decodeJson(body: Uint8Array): { value: unknown } | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}
