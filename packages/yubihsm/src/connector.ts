/**
 * HTTP transport to yubihsm-connector (or anything serving its API, such as yubihsm-sim):
 * `POST /connector/api` carries one raw message each way, `GET /connector/status` reports health.
 * The connector is untrusted by design (SCP03 is end to end), so this layer only moves bytes.
 */
import { assertBytes, assertInt, assertString } from './check';
import { ConnectorError } from './errors';
import { HttpClientError, KeepAliveClient } from './http-client';
import { MAX_MSG_SIZE } from './wire';

/** yubihsm-connector's default listen address (`--listen`, Yubico docs; yubihsm.rs `HttpConfig`). */
export const DEFAULT_CONNECTOR_URL = 'http://127.0.0.1:12345';
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Endpoints appended to the base URL (`API_ENDPOINT`/`STATUS_ENDPOINT` in yubihsm-shell `lib/yubihsm.c`). */
export const API_PATH = '/connector/api';
export const STATUS_PATH = '/connector/status';
/** libyubihsm refuses a status body larger than this (`parse_status_data`, `lib/lib_util.c`). */
const MAX_STATUS_BODY = 256;
/** A device reply is one USB transfer, at most MAX_MSG_SIZE; anything far larger is not a reply. */
const MAX_API_BODY = 2 * MAX_MSG_SIZE;

/** What moves one message to the device and back. Sessions and the pool need nothing more. */
export interface Transport {
  /** `timeoutMs` overrides the transport's default for one slow command (RSA key generation). */
  send(message: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
}

export interface ConnectorStatus {
  /** True only when the status body has the line `status=OK`, as libyubihsm's `yh_connect()` requires. */
  healthy: boolean;
  status: string | undefined;
  serial: string | undefined;
  version: string | undefined;
  /** Every key=value line, including ones this client does not know. */
  fields: Record<string, string>;
}

/** HTTP requests actually sent, including a resend after a stale keep-alive socket. */
export interface ConnectorStats {
  apiRequests: number;
  statusRequests: number;
  failures: number;
}

export interface HttpConnectorOptions {
  /** Base URL, e.g. `http://127.0.0.1:12345`; the endpoint paths are appended to it. */
  url: string;
  requestTimeoutMs?: number;
  /** Keep-alive sockets kept open to the connector (it serializes commands anyway). */
  maxSockets?: number;
}

/** Ten minutes: longer than any single device operation (RSA-4096 generation can take ~4 minutes). */
const MAX_TIMEOUT_MS = 600_000;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** `key=value` lines; later keys win, lines without `=` are ignored (as `parse_status_data` does). */
export function parseConnectorStatus(body: string): ConnectorStatus {
  const fields: Record<string, string> = {};
  let healthy = false;
  for (const line of body.split('\n')) {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === 'status=OK') healthy = true;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    fields[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return { healthy, status: fields.status, serial: fields.serial, version: fields.version, fields };
}

export class HttpConnector implements Transport {
  readonly url: string;
  readonly requestTimeoutMs: number;
  /** The base URL's path, without a trailing slash; the endpoint paths are appended to it. */
  readonly #basePath: string;
  readonly #client: KeepAliveClient;
  readonly #stats: ConnectorStats = { apiRequests: 0, statusRequests: 0, failures: 0 };
  #closed = false;

  constructor(options: HttpConnectorOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    assertString('url', options.url);
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new RangeError('url must be an absolute http(s) URL');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('url must be an absolute http(s) URL');
    const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    assertInt('requestTimeoutMs', timeout, 1, MAX_TIMEOUT_MS);
    const maxSockets = options.maxSockets ?? 4;
    assertInt('maxSockets', maxSockets, 1, 64);
    this.#basePath = base.pathname.replace(/\/$/, '');
    // Never keep credentials of a URL like http://user:pass@host in anything we print.
    this.url = base.origin + this.#basePath;
    this.requestTimeoutMs = timeout;
    this.#client = new KeepAliveClient(base, maxSockets);
  }

  /** One message to the device, its reply back. Exactly one HTTP request unless a stale keep-alive socket must be replaced. */
  async send(message: Uint8Array, timeoutMs: number = this.requestTimeoutMs): Promise<Uint8Array> {
    assertBytes('message', message, { min: 3, max: MAX_MSG_SIZE });
    assertInt('timeoutMs', timeoutMs, 1, MAX_TIMEOUT_MS);
    const res = await this.request('POST', API_PATH, message, MAX_API_BODY, timeoutMs);
    if (res.status !== 200) {
      this.#stats.failures++;
      throw new ConnectorError('http-status', `connector ${this.url} answered HTTP ${res.status}`, {
        httpStatus: res.status,
        // A 5xx is the connector losing the device (USB error); a 4xx is our request.
        retryable: res.status >= 500,
      });
    }
    return res.body;
  }

  async status(): Promise<ConnectorStatus> {
    const res = await this.request('GET', STATUS_PATH, undefined, MAX_STATUS_BODY * 4, this.requestTimeoutMs);
    if (res.status !== 200) {
      this.#stats.failures++;
      throw new ConnectorError('http-status', `connector ${this.url} status answered HTTP ${res.status}`, {
        httpStatus: res.status,
        retryable: res.status >= 500,
      });
    }
    return parseConnectorStatus(new TextDecoder().decode(res.body));
  }

  stats(): ConnectorStats {
    return { ...this.#stats };
  }

  /** Closes the keep-alive sockets; later requests fail. */
  close(): void {
    this.#closed = true;
    this.#client.close();
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body: Uint8Array | undefined,
    maxBody: number,
    timeoutMs: number,
  ): Promise<{ status: number; body: Uint8Array }> {
    if (this.#closed) throw new ConnectorError('unreachable', `connector client for ${this.url} is closed`, { retryable: false });
    try {
      return await this.requestOnce(method, path, body, maxBody, timeoutMs);
    } catch (e) {
      // A kept-alive connection the connector closed while idle: the request never reached the
      // connector, so sending it again on a new connection is safe. The resend may meet another
      // connection that died the same way (the connector restarted and reset them all): then it is
      // a broken connection like any other.
      if (e instanceof HttpClientError && e.kind === 'stale') {
        return this.requestOnce(method, path, body, maxBody, timeoutMs).catch((err: unknown) =>
          this.fail(err instanceof HttpClientError && err.kind === 'stale' ? this.resetError() : this.mapError(err, timeoutMs)),
        );
      }
      return this.fail(this.mapError(e, timeoutMs));
    }
  }

  private resetError(): ConnectorError {
    return new ConnectorError('reset', `connector ${this.url} connection failed (ECONNRESET)`);
  }

  private fail(e: unknown): never {
    this.#stats.failures++;
    throw e;
  }

  private requestOnce(
    method: 'GET' | 'POST',
    path: string,
    body: Uint8Array | undefined,
    maxBody: number,
    timeoutMs: number,
  ): Promise<{ status: number; body: Uint8Array }> {
    if (path === API_PATH) this.#stats.apiRequests++;
    else this.#stats.statusRequests++;
    return this.#client.request(method, this.#basePath + path, body, maxBody, timeoutMs);
  }

  private mapError(err: unknown, timeoutMs: number): unknown {
    if (!(err instanceof HttpClientError)) return err;
    switch (err.kind) {
      case 'timeout':
        return new ConnectorError('timeout', `connector ${this.url} did not answer within ${timeoutMs} ms`, { cause: err });
      case 'oversized':
        return new ConnectorError('reset', `connector ${this.url} sent an oversized reply`, { retryable: false, cause: err });
      case 'closed':
        return new ConnectorError('unreachable', `connector client for ${this.url} is closed`, { retryable: false, cause: err });
      case 'connect':
        if (UNREACHABLE_CODES.has(err.code ?? ''))
          return new ConnectorError('unreachable', `connector ${this.url} is unreachable${err.code ? ` (${err.code})` : ''}`, { cause: err });
        return new ConnectorError('reset', `connector ${this.url} connection failed${err.code ? ` (${err.code})` : ''}`, { cause: err });
      case 'protocol':
        return new ConnectorError('reset', `connector ${this.url} sent a malformed reply (${err.message})`, { cause: err });
      default:
        return new ConnectorError('reset', `connector ${this.url} ${err.code ? `connection failed (${err.code})` : 'closed the connection mid-reply'}`, {
          cause: err,
        });
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HttpConnector { url: '${this.url}' }`;
  }
}
