import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket, createServer as createTcpServer } from 'node:net';
import { HttpConnector, parseConnectorStatus } from '../src/connector';
import { ConnectorError } from '../src/errors';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP server answering each request (its bytes up to the first pause) with whatever `answer` writes. */
async function rawServer(answer: (socket: Socket, request: string) => void): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => answer(socket, d.toString('latin1')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  }
  throw new Error('expected a rejection');
}

describe('connector status parsing (yubihsm-connector api.go format)', () => {
  it('is healthy only with a status=OK line', () => {
    const ok = parseConnectorStatus('status=OK\nserial=*\nversion=3.0.7\npid=42\naddress=localhost\nport=12345\n');
    expect(ok).toMatchObject({ healthy: true, status: 'OK', serial: '*', version: '3.0.7' });
    expect(ok.fields.port).toBe('12345');
    expect(parseConnectorStatus('status=NO_DEVICE\nserial=*\n').healthy).toBe(false);
    expect(parseConnectorStatus('status\nOK\n').healthy).toBe(false);
    expect(parseConnectorStatus('').healthy).toBe(false);
    expect(parseConnectorStatus('status=OK\r\nversion=1\r\n')).toMatchObject({ healthy: true, version: '1' });
  });
});

describe('HttpConnector', () => {
  it('POSTs raw bytes to /connector/api as application/octet-stream over one kept-alive socket', async () => {
    const seen: { path?: string; method?: string; type?: string; body: Buffer }[] = [];
    const ports = new Set<number>();
    const s = await serve((req, body, res) => {
      seen.push({ path: req.url, method: req.method, type: req.headers['content-type'], body });
      ports.add(req.socket.remotePort!);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from([0x81, 0, 1, body[3]!]));
    });
    const c = new HttpConnector({ url: `${s.url}/`, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) expect(await c.send(Uint8Array.of(1, 0, 1, i))).toEqual(Uint8Array.of(0x81, 0, 1, i));
      expect(seen[0]).toMatchObject({ path: '/connector/api', method: 'POST', type: 'application/octet-stream' });
      expect([...seen[2]!.body]).toEqual([1, 0, 1, 2]);
      expect(ports.size).toBe(1);
      expect(c.stats()).toEqual({ apiRequests: 3, statusRequests: 0, failures: 0 });
    } finally {
      c.close();
      await s.close();
    }
  });

  it('keeps a base path and GETs /connector/status', async () => {
    let path: string | undefined;
    const s = await serve((req, _body, res) => {
      path = req.url;
      res.end('status=OK\nversion=3.0.7\n');
    });
    const c = new HttpConnector({ url: `${s.url}/hsm1` });
    try {
      expect((await c.status()).healthy).toBe(true);
      expect(path).toBe('/hsm1/connector/status');
    } finally {
      c.close();
      await s.close();
    }
  });

  it('maps a non-200 answer to ConnectorError http-status (retryable only for 5xx)', async () => {
    let status = 500;
    const s = await serve((_req, _body, res) => {
      res.writeHead(status);
      res.end();
    });
    const c = new HttpConnector({ url: s.url });
    try {
      const e500 = await rejection(c.send(Uint8Array.of(1, 0, 0)));
      expect(e500).toMatchObject({ kind: 'http-status', httpStatus: 500, retryable: true });
      status = 400;
      expect(await rejection(c.send(Uint8Array.of(1, 0, 0)))).toMatchObject({ kind: 'http-status', httpStatus: 400, retryable: false });
    } finally {
      c.close();
      await s.close();
    }
  });

  it('maps a connector that does not answer to ConnectorError timeout', async () => {
    const s = await serve(() => undefined);
    const c = new HttpConnector({ url: s.url, requestTimeoutMs: 100 });
    try {
      const e = await rejection(c.send(Uint8Array.of(1, 0, 0)));
      expect(e).toMatchObject({ kind: 'timeout', retryable: true });
      expect(e.message).toBe(`connector ${s.url} did not answer within 100 ms`);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('maps a refused connection to ConnectorError unreachable', async () => {
    const s = await serve(() => undefined);
    const url = s.url;
    await s.close();
    const c = new HttpConnector({ url });
    try {
      expect(await rejection(c.send(Uint8Array.of(1, 0, 0)))).toMatchObject({ kind: 'unreachable', retryable: true });
      expect(await rejection(c.status())).toMatchObject({ kind: 'unreachable' });
    } finally {
      c.close();
    }
  });

  it('maps a connection cut mid-request to ConnectorError reset', async () => {
    const s = await serve((req) => req.socket.destroy());
    const c = new HttpConnector({ url: s.url });
    try {
      expect(await rejection(c.send(Uint8Array.of(1, 0, 0)))).toMatchObject({ kind: 'reset' });
    } finally {
      c.close();
      await s.close();
    }
  });

  it('maps every kept-alive socket reset at once (a connector killed and restarted) to ConnectorError reset', async () => {
    let cut = false;
    const s = await serve((req, _body, res) => {
      if (cut) {
        req.socket.destroy();
        return;
      }
      // Held until all three arrived, so the agent opens three sockets and keeps them.
      setImmediate(() => res.end(Buffer.from([0x81, 0, 0])));
    });
    const c = new HttpConnector({ url: s.url, maxSockets: 3 });
    try {
      await Promise.all([1, 2, 3].map(() => c.send(Uint8Array.of(1, 0, 0))));
      cut = true;
      // The first attempt and its resend both meet a socket the server resets.
      expect(await rejection(c.send(Uint8Array.of(1, 0, 0)))).toMatchObject({ kind: 'reset' });
    } finally {
      c.close();
      await s.close();
    }
  });

  it('reads chunked replies, and replies framed by the end of the connection', async () => {
    const s = await serve((req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      // Two writes without a Content-Length: Node sends them chunked.
      res.write(Buffer.from([0x81, 0]));
      setImmediate(() => res.end(Buffer.from([1, 7])));
    });
    const c = new HttpConnector({ url: s.url });
    try {
      for (let i = 0; i < 2; i++) expect(await c.send(Uint8Array.of(1, 0, 0))).toEqual(Uint8Array.of(0x81, 0, 1, 7));
    } finally {
      c.close();
      await s.close();
    }
    // HTTP/1.0-style: no length at all, the reply ends with the connection; then a new connection serves the next request.
    const raw = await rawServer((socket) => socket.end(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n\x81\x00\x01\x09', 'latin1')));
    const d = new HttpConnector({ url: raw.url, maxSockets: 1 });
    try {
      for (let i = 0; i < 2; i++) expect(await d.send(Uint8Array.of(1, 0, 0))).toEqual(Uint8Array.of(0x81, 0, 1, 9));
      expect(raw.connections()).toBe(2);
    } finally {
      d.close();
      await raw.close();
    }
  });

  it('skips an interim 100 Continue and sends URL credentials as Basic authorization', async () => {
    let seen = '';
    const raw = await rawServer((socket, request) => {
      seen = request;
      socket.write(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\x81\x00\x00', 'latin1'));
    });
    const c = new HttpConnector({ url: raw.url.replace('http://', 'http://op%40x:p%3Ass@') + '/base/' });
    try {
      expect(await c.send(Uint8Array.of(1, 0, 0))).toEqual(Uint8Array.of(0x81, 0, 0));
      expect(seen).toMatch(/^POST \/base\/connector\/api HTTP\/1\.1\r\n/);
      expect(seen).toContain(`\r\nAuthorization: Basic ${Buffer.from('op@x:p:ss').toString('base64')}\r\n`);
      expect(seen).toContain('\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\n');
    } finally {
      c.close();
      await raw.close();
    }
  });

  it.each([
    ['an oversized reply', 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n', /sent an oversized reply/],
    ['an oversized chunked reply', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n${'x'.repeat(0x2000)}\r\n`, /sent an oversized reply/],
    ['a reply that is not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', /sent a malformed reply \(the reply is not HTTP\/1\.x\)/],
    ['two different lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n\x81\x00\x00\x00', /bad Content-Length/],
    ['a transfer coding it cannot read', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /unsupported Transfer-Encoding gzip/],
    ['a reply cut short', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n\x81', /closed the connection mid-reply/],
  ])('maps %s to ConnectorError reset, and drops that connection', async (_what, reply, message) => {
    const raw = await rawServer((socket) => socket.end(Buffer.from(reply, 'latin1')));
    const c = new HttpConnector({ url: raw.url });
    try {
      const e = await rejection(c.send(Uint8Array.of(1, 0, 0)));
      expect(e).toMatchObject({ kind: 'reset' });
      expect(e.message).toMatch(message);
    } finally {
      c.close();
      await raw.close();
    }
  });

  it('never prints URL credentials and checks its arguments', () => {
    const c = new HttpConnector({ url: 'http://user:secret@127.0.0.1:1/' });
    expect(c.url).toBe('http://127.0.0.1:1');
    c.close();
    expect(() => new HttpConnector({ url: 'not a url' })).toThrow(RangeError);
    expect(() => new HttpConnector({ url: 'http://x', requestTimeoutMs: 0 })).toThrow('requestTimeoutMs must be between 1 and 600000, got 0');
    const d = new HttpConnector({ url: 'http://127.0.0.1:1' });
    return expect(d.send(Uint8Array.of(1))).rejects.toThrow('message must be at least 3 bytes, got 1');
  });
});
