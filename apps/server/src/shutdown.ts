/**
 * Graceful shutdown of the HTTP side: stop accepting, let the requests in flight finish (an
 * RSA-4096 CreateKey or a Sign the device is working on gets its answer), and only then close the
 * connections. Bounded by a deadline, after which what is still open is cut.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { GatewayServer } from './http/listen';

export interface Inflight {
  /** Wraps the app: each request counts from arrival until its response is finished or its socket closed. */
  wrap(app: RequestListener): RequestListener;
  readonly count: number;
  /** From now on every response says `Connection: close`, so no keep-alive client sends another request. */
  closing(): void;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
}

export function createInflight(): Inflight {
  const active = new Set<ServerResponse>();
  let isClosing = false;
  let waiters: Array<() => void> = [];
  const end = (res: ServerResponse) => {
    if (!active.delete(res) || active.size > 0) return;
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  };
  const sayClose = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  return {
    wrap: (app) => (req: IncomingMessage, res: ServerResponse) => {
      active.add(res);
      res.once('finish', () => end(res));
      res.once('close', () => end(res));
      if (isClosing) sayClose(res);
      app(req, res);
    },
    get count() {
      return active.size;
    },
    closing() {
      isClosing = true;
      for (const res of active) sayClose(res);
    },
    idle() {
      return active.size === 0
        ? Promise.resolve()
        : new Promise((wake) => {
            waiters.push(wake);
          });
    },
  };
}

/**
 * Stops accepting connections, closes idle keep-alive ones, waits for the requests in flight (at
 * most `deadlineMs`) and then closes every connection. Returns how many requests were cut off.
 */
export async function drainServer(server: GatewayServer, inflight: Inflight, deadlineMs: number): Promise<{ abandoned: number }> {
  inflight.closing();
  const closed = new Promise<void>((ok) => server.close(() => ok()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((ok) => {
    timer = setTimeout(ok, deadlineMs);
  });
  await Promise.race([inflight.idle(), deadline]);
  clearTimeout(timer);
  const abandoned = inflight.count;
  // What is left: sockets whose answer has been handed to the OS, or (past the deadline) cut requests.
  server.closeAllConnections();
  await closed;
  return { abandoned };
}
