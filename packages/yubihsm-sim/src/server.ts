// The yubihsm-connector 3.0.7 HTTP surface (`api.go`, `main.go` in Yubico/yubihsm-connector), in
// front of the simulated device instead of USB. Status codes, bodies and headers follow the Go
// connector, including its net/http defaults, so that libyubihsm's `yh_connect()` (which parses
// /connector/status) and python-yubihsm (which only uses /connector/api) both accept it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SIMULATOR_STATUS_KEY, SIMULATOR_STATUS_VALUE } from '@kmsgate/yubihsm';
import { Device, type DeviceOptions } from './device';

/** yubihsm-connector `apiHandler`: CMD(1) + LEN(2) is the shortest request it forwards. */
const MIN_API_BODY = 3;
/** yubihsm-connector `apiHandler`: 3136 + 3, "3 bytes more than the HSM can handle". */
const MAX_API_BODY = 3136 + 3;
/** The connector version this front end imitates (reported on /connector/status). */
const CONNECTOR_VERSION = '3.0.7';
/** Go's net/http `http.Server{ReadTimeout: 5 * time.Second}` in the connector's `main.go`. */
const READ_TIMEOUT_MS = 5_000;

/** `log` also receives one line per HTTP request (method, path, status). */
export interface SimulatorOptions extends DeviceOptions {
  /** Listen host; the connector's default is `localhost`. */
  host?: string;
  /** Listen port; 0 picks an ephemeral port. The connector's default is 12345. */
  port?: number;
}

export interface RunningSimulator {
  /** Base URL to hand to a client, e.g. `http://127.0.0.1:12345`. */
  url: string;
  port: number;
  device: Device;
  close(): Promise<void>;
  stats(): { apiRequests: number };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? 'localhost';
  const port = options.port ?? 12345;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError('port must be an integer in 0..65535');
  }
  const device = new Device(options);
  const log = options.log ?? (() => undefined);
  let apiRequests = 0;
  let boundPort = port;

  const server: Server = createServer((req, res) => {
    const path = pathOf(req.url);
    if (path === '/connector/api') {
      apiRequests += 1;
      withRequestId(req, res);
      handleApi(device, req, res);
    } else if (path === '/connector/status') {
      withRequestId(req, res);
      handleStatus(req, res, host, boundPort);
    } else {
      // Go's ServeMux answers unknown paths before the connector's middleware runs, so no
      // X-Request-ID here.
      plainError(res, 404, '404 page not found');
    }
    res.on('finish', () => log(`${req.method ?? '?'} ${path} ${res.statusCode}`));
  });
  server.requestTimeout = READ_TIMEOUT_MS;

  // Tracked so close() does not wait for idle keep-alive connections of clients that never hang up.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${boundPort}`,
    port: boundPort,
    device,
    stats: () => ({ apiRequests }),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
        for (const socket of sockets) socket.destroy();
      }).then(() => device.shutdown());
      return closing;
    },
  };
}

function handleApi(device: Device, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    plainError(res, 405, 'Method Not Allowed');
    req.resume();
    return;
  }
  // Like Go's r.ContentLength, a missing header (chunked upload) counts as -1 and is refused.
  const header = req.headers['content-length'];
  const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : -1;
  if (declared < MIN_API_BODY || declared > MAX_API_BODY) {
    plainError(res, 400, 'Bad Request');
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received <= MAX_API_BODY) chunks.push(chunk);
  });
  req.on('error', () => {
    if (!res.headersSent) plainError(res, 500, 'Internal Server Error');
  });
  req.on('end', () => {
    // Node serialises 'end' callbacks and Device.handle is synchronous, so commands reach the
    // device one at a time, as they do behind the connector's global USB mutex.
    const body = Buffer.concat(chunks).subarray(0, MAX_API_BODY);
    const response = device.handle(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': response.byteLength,
    });
    res.end(Buffer.from(response.buffer, response.byteOffset, response.byteLength));
  });
}

function handleStatus(req: IncomingMessage, res: ServerResponse, host: string, port: number): void {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    plainError(res, 405, 'Method Not Allowed');
    req.resume();
    return;
  }
  // `serial=` is the connector's device filter, not the device's serial; `*` (any device) is its
  // default. The device serial is reported by DEVICE_INFO, as on hardware. The last line is ours:
  // the connector has no such key, and libyubihsm ignores keys it does not know.
  const body =
    'status=OK\n' +
    'serial=*\n' +
    `version=${CONNECTOR_VERSION}\n` +
    `pid=${process.pid}\n` +
    `address=${host}\n` +
    `port=${port}\n` +
    `${SIMULATOR_STATUS_KEY}=${SIMULATOR_STATUS_VALUE}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  req.resume();
}

/** The connector's middleware echoes X-Request-ID or generates a UUIDv4. */
function withRequestId(req: IncomingMessage, res: ServerResponse): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && given !== '' ? given : randomUUID();
  res.setHeader('X-Request-ID', id);
}

/** Go's `http.Error`: text/plain, nosniff, the message plus a newline. */
function plainError(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
