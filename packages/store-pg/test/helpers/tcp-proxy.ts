import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between a store and its PostgreSQL, on a fixed local port, that a test can cut (every
 * connection reset, nothing listening: the database is unreachable) and restore (the database is
 * back at the same address).
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.#target);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.once('close', () => outbound.destroy());
      outbound.once('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Resets every connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
