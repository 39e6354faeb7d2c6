/**
 * The HTTP server itself: Node's own limits set to seconds, not Node's defaults of minutes (a
 * slow-headers or slow-body client holds a socket for at most `requestTimeoutMs`), a cap on open
 * connections, and a start that fails with one line naming the port when it is taken. With TLS
 * material it serves HTTPS under the same limits.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsMaterial } from './tls';

export interface HttpLimits {
  /** Whole request head must arrive within this (Node: 408 and close). */
  headersTimeoutMs: number;
  /** Head and body must arrive within this (Node: 408 and close). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
}

/** The port is taken or not allowed; `main` prints the message as it is, on one line. */
export class ListenError extends Error {}

export type GatewayServer = Server | HttpsServer;

export async function listen(handler: RequestListener, host: string, port: number, limits: HttpLimits, tls?: TlsMaterial): Promise<GatewayServer> {
  const options = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above on this period (default 30 s, longer than the timeouts).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  };
  const server: GatewayServer = tls ? createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, handler) : createServer(options, handler);
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((ok, fail) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        fail(
          new ListenError(
            `port ${port} on ${host} is already in use: stop what listens there, or set PORT (or server.port in the configuration) to a free port`,
          ),
        );
      } else if (e.code === 'EACCES') {
        fail(new ListenError(`port ${port} on ${host} may not be opened by this user: set PORT (or server.port in the configuration) to a port above 1023`));
      } else {
        fail(e);
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
  return server;
}
