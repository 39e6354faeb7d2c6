// A bare protocol peer for conformance tests: writes frames by hand (good or bad) and reads what
// the daemon answers, validating every answer against the shared schema. No client logic.
import { createConnection, type Socket } from 'node:net';
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  FrameDecoder,
  HELLO_VERSION,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ResponseEnvelope,
  SUPPORTED_VERSIONS,
  decodeJson,
  encodeFrame,
  frameBytes,
  type HelloInfo,
} from '../../src';

export type Response = ResponseEnvelope;

export class RawConnection {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder(MAX_FRAME_BYTES);
  readonly #received: Response[] = [];
  #waiters: Array<() => void> = [];
  #closed = false;
  #nextId = 1;
  /** Frames that were not schema-valid responses (a daemon bug), for assertions. */
  readonly invalid: string[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(new Uint8Array(chunk));
      for (;;) {
        const f = this.#decoder.next();
        if (!f) break;
        if (f.kind !== 'frame') {
          this.invalid.push(f.kind);
          continue;
        }
        const json = decodeJson(f.body);
        const env = json ? ResponseEnvelope.safeParse(json.value) : undefined;
        if (!env?.success) this.invalid.push(new TextDecoder().decode(f.body).slice(0, 200));
        else this.#received.push(env.data);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  nextId(): number {
    return this.#nextId++;
  }

  send(envelope: unknown): void {
    this.socket.write(encodeFrame(envelope));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendBody(body: Uint8Array): void {
    this.socket.write(frameBytes(body));
  }

  /** Sends a well-formed request; returns its id. */
  request(cmd: string, payload: unknown, deadlineMs = 10_000): number {
    const id = this.nextId();
    this.send({ v: cmd === 'hello' ? HELLO_VERSION : PROTOCOL_VERSION, id, cmd, deadlineMs, payload });
    return id;
  }

  /** The answer with this id (or, for null, the next error without an id). */
  async answer(id: number | null, timeoutMs = 5_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#received.findIndex((r) => r.id === id);
      if (i >= 0) return this.#received.splice(i, 1)[0]!;
      if (this.#closed) throw new Error(`connection closed without an answer to id ${id}`);
      if (!(await this.#wait(deadline - Date.now()))) throw new Error(`no answer to id ${id} within ${timeoutMs} ms`);
    }
  }

  async call(cmd: string, payload: unknown, deadlineMs = 10_000): Promise<Response> {
    return this.answer(this.request(cmd, payload, deadlineMs));
  }

  /** Calls and expects success; returns the result. */
  async ok<T = Record<string, unknown>>(cmd: string, payload: unknown): Promise<T> {
    const r = await this.call(cmd, payload);
    if (!r.ok) throw new Error(`${cmd} failed: ${JSON.stringify(r.error)}`);
    return r.result as T;
  }

  async hello(): Promise<HelloInfo> {
    return this.ok<HelloInfo>('hello', { versions: [...SUPPORTED_VERSIONS], client: 'kmsgate contract test' });
  }

  /** Resolves when the daemon has closed the connection; rejects after timeoutMs. */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (!(await this.#wait(deadline - Date.now()))) throw new Error(`the connection was not closed within ${timeoutMs} ms`);
    }
  }

  /** Every answer received and not yet taken. */
  drain(): Response[] {
    return this.#received.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** A node:crypto public key from the protocol's raw encoding, independent of kmsgate code. */
export function rawPublicKey(keyType: string, hex: string): KeyObject {
  const raw = Buffer.from(hex, 'hex');
  if (keyType === 'ED25519') return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('not an uncompressed point');
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: keyType === 'P256' ? 'P-256' : 'secp256k1',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
}
