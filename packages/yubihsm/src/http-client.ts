/**
 * The HTTP/1.1 client under HttpConnector: kept-alive sockets, one request at a time on each, for
 * exactly what yubihsm-connector's API needs (a small POST or GET, a small reply). Node's general
 * client (ClientRequest, Agent, IncomingMessage streams) cost about three times as much CPU per
 * request, and a Sign makes one connector request. Replies are framed by Content-Length, chunked
 * transfer coding, or the end of the connection (RFC 9112 §6.3).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface HttpReply {
  status: number;
  body: Uint8Array;
}

/** Why a request failed; the connector maps these to its own errors. */
export class HttpClientError extends Error {
  constructor(
    readonly kind: 'connect' | 'reset' | 'stale' | 'timeout' | 'oversized' | 'protocol' | 'closed',
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** A reply head larger than this is not a connector's. */
const MAX_HEAD_BYTES = 16 * 1024;

interface Exchange {
  maxBody: number;
  resolve(r: HttpReply): void;
  reject(e: HttpClientError): void;
  /** Whether any byte of the reply has arrived (a reused socket that dies before is stale, not reset). */
  started: boolean;
}

/** One socket and the parse state of the reply it is waiting for. */
class Connection {
  readonly socket: Socket;
  /** Set once it has served a request: a failure before any reply byte then means the server closed it while idle. */
  reused = false;
  /** Set once it no longer counts against the cap. */
  gone = false;
  exchange: Exchange | undefined;
  #connected = false;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #done: (c: Connection, keepAlive: boolean) => void;

  constructor(origin: URL, done: (c: Connection, keepAlive: boolean) => void) {
    this.#done = done;
    const tls = origin.protocol === 'https:';
    const port = Number(origin.port || (tls ? 443 : 80));
    const host = origin.hostname.replace(/^\[|\]$/g, '');
    this.socket = tls ? tlsConnect({ host, port, servername: host }) : tcpConnect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.once(tls ? 'secureConnect' : 'connect', () => {
      this.#connected = true;
    });
    this.socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.#fail(e));
    this.socket.on('end', () => this.#end());
    this.socket.on('close', () => this.#fail(undefined));
  }

  send(bytes: Buffer, exchange: Exchange): void {
    this.exchange = exchange;
    this.#buffer = Buffer.alloc(0);
    this.socket.write(bytes);
  }

  /** Ends the exchange with an error and drops the socket (its framing can no longer be trusted). */
  abort(err: HttpClientError): void {
    const x = this.exchange;
    this.exchange = undefined;
    this.socket.destroy();
    this.#done(this, false);
    x?.reject(err);
  }

  #fail(e: NodeJS.ErrnoException | undefined): void {
    const x = this.exchange;
    if (x === undefined) {
      // An idle connection the server closed, or one already finished with.
      this.socket.destroy();
      this.#done(this, false);
      return;
    }
    if (!this.#connected) this.abort(new HttpClientError('connect', e?.message ?? 'the connection failed', e?.code));
    else if (this.reused && !x.started) this.abort(new HttpClientError('stale', 'a kept-alive connection was closed by the server', e?.code));
    else this.abort(new HttpClientError('reset', e?.message ?? 'the connection closed mid-reply', e?.code));
  }

  #read(chunk: Buffer): void {
    const x = this.exchange;
    if (x === undefined) {
      // Bytes nobody asked for: this connection is out of step.
      this.socket.destroy();
      return;
    }
    x.started = true;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    this.#complete(false);
  }

  /** The server ended the connection, which completes a reply framed by its end. */
  #end(): void {
    if (this.exchange !== undefined) this.#complete(true);
  }

  #complete(atEnd: boolean): void {
    const x = this.exchange!;
    let reply: ReturnType<typeof parseReply>;
    try {
      reply = parseReply(this.#buffer, x.maxBody, atEnd);
    } catch (e) {
      this.abort(e as HttpClientError);
      return;
    }
    if (reply === undefined) return;
    this.exchange = undefined;
    this.#buffer = Buffer.alloc(0);
    if (!reply.keepAlive) this.socket.destroy();
    this.#done(this, reply.keepAlive);
    x.resolve({ status: reply.status, body: reply.body });
  }
}

/**
 * The reply at the start of `buf`, or undefined while incomplete. `atEnd`: the connection has
 * ended, which completes a reply that has neither Content-Length nor chunked coding.
 */
function parseReply(buf: Buffer, maxBody: number, atEnd: boolean): { status: number; body: Uint8Array; keepAlive: boolean } | undefined {
  let start = 0;
  for (;;) {
    const headEnd = buf.indexOf(CRLF2, start);
    if (headEnd < 0) {
      if (buf.length - start > MAX_HEAD_BYTES) throw new HttpClientError('protocol', 'the reply head is too large');
      return undefined;
    }
    const lines = buf.toString('latin1', start, headEnd).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!m) throw new HttpClientError('protocol', 'the reply is not HTTP/1.x');
    const status = Number(m[2]);
    const bodyStart = headEnd + 4;
    // An interim 1xx reply is followed by the real one.
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    let length: number | undefined;
    let chunked = false;
    let keepAlive = m[1] === '1';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value)))
          throw new HttpClientError('protocol', 'bad Content-Length in the reply');
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked =
          value
            .split(',')
            .map((v) => v.trim())
            .at(-1) === 'chunked';
        if (!chunked) throw new HttpClientError('protocol', `unsupported Transfer-Encoding ${value}`);
      } else if (name === 'connection') {
        const tokens = value.split(',').map((v) => v.trim());
        if (tokens.includes('close')) keepAlive = false;
        else if (tokens.includes('keep-alive')) keepAlive = true;
      }
    }
    if (chunked) {
      const body = dechunk(buf, bodyStart, maxBody);
      return body && { status, body, keepAlive };
    }
    if (length !== undefined) {
      if (length > maxBody) throw new HttpClientError('oversized', 'the reply is larger than any connector reply');
      if (buf.length < bodyStart + length) return undefined;
      return { status, body: new Uint8Array(buf.subarray(bodyStart, bodyStart + length)), keepAlive };
    }
    if (status === 204 || status === 304) return { status, body: new Uint8Array(0), keepAlive };
    if (buf.length - bodyStart > maxBody) throw new HttpClientError('oversized', 'the reply is larger than any connector reply');
    return atEnd ? { status, body: new Uint8Array(buf.subarray(bodyStart)), keepAlive: false } : undefined;
  }
}

/** A chunked body starting at `at`, or undefined while incomplete (trailers are skipped). */
function dechunk(buf: Buffer, at: number, maxBody: number): Uint8Array | undefined {
  const parts: Buffer[] = [];
  let size = 0;
  let i = at;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i, 'latin1');
    if (lineEnd < 0) return undefined;
    const n = Number.parseInt(buf.toString('latin1', i, lineEnd).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(n) || n < 0) throw new HttpClientError('protocol', 'bad chunk size in the reply');
    i = lineEnd + 2;
    if (n === 0) {
      // Trailer section: lines until an empty one.
      for (;;) {
        const end = buf.indexOf('\r\n', i, 'latin1');
        if (end < 0) return undefined;
        if (end === i) return new Uint8Array(Buffer.concat(parts, size));
        i = end + 2;
      }
    }
    size += n;
    if (size > maxBody) throw new HttpClientError('oversized', 'the reply is larger than any connector reply');
    if (buf.length < i + n + 2) return undefined;
    parts.push(buf.subarray(i, i + n));
    i += n + 2;
  }
}

/** At most `maxSockets` kept-alive connections to one origin; callers beyond them wait in FIFO order. */
export class KeepAliveClient {
  readonly #origin: URL;
  readonly #maxSockets: number;
  readonly #idle: Connection[] = [];
  readonly #waiting: ((c: Connection | HttpClientError) => void)[] = [];
  readonly #authorization: string | undefined;
  #open = 0;
  #closed = false;

  constructor(origin: URL, maxSockets: number) {
    this.#origin = origin;
    this.#maxSockets = maxSockets;
    if (origin.username !== '' || origin.password !== '') {
      const credentials = `${decodeURIComponent(origin.username)}:${decodeURIComponent(origin.password)}`;
      this.#authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
    }
  }

  /** One request on an idle connection (a new one when none is idle and the cap allows). */
  async request(method: 'GET' | 'POST', path: string, body: Uint8Array | undefined, maxBody: number, timeoutMs: number): Promise<HttpReply> {
    if (this.#closed) throw new HttpClientError('closed', 'the client is closed');
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: ${this.#origin.host}\r\nAccept: */*\r\n` +
      (this.#authorization ? `Authorization: ${this.#authorization}\r\n` : '') +
      (body ? `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n` : '') +
      '\r\n';
    const bytes = body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
    const deadline = performance.now() + timeoutMs;
    const conn = await this.#acquire(timeoutMs);
    return new Promise<HttpReply>((resolve, reject) => {
      const timer = setTimeout(() => conn.abort(new HttpClientError('timeout', `no reply within ${timeoutMs} ms`)), Math.max(1, deadline - performance.now()));
      conn.send(bytes, {
        maxBody,
        started: false,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.socket.destroy();
    for (const w of this.#waiting.splice(0)) w(new HttpClientError('closed', 'the client is closed'));
  }

  #acquire(timeoutMs: number): Promise<Connection> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#open < this.#maxSockets) return Promise.resolve(this.#connect());
    return new Promise((resolve, reject) => {
      const waiter = (c: Connection | HttpClientError) => {
        clearTimeout(timer);
        if (c instanceof HttpClientError) reject(c);
        else resolve(c);
      };
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(new HttpClientError('timeout', `no connection free within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(waiter);
    });
  }

  #connect(): Connection {
    this.#open++;
    return new Connection(this.#origin, (c, keepAlive) => this.#release(c, keepAlive));
  }

  /** A connection is free again (keepAlive) or gone; the next waiter gets it, or a new one. */
  #release(conn: Connection, keepAlive: boolean): void {
    if (conn.gone) return;
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (keepAlive && !this.#closed) {
      conn.reused = true;
      const next = this.#waiting.shift();
      if (next) next(conn);
      else this.#idle.push(conn);
      return;
    }
    conn.gone = true;
    conn.socket.destroy();
    this.#open--;
    const next = this.#waiting.shift();
    if (next && !this.#closed) next(this.#connect());
  }
}
