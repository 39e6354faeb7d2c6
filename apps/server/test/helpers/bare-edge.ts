/**
 * The request edge alone, in front of a given app, with a store whose refresh succeeds or fails
 * and API keys that accept `x-api-key: good` (edge-refresh.test.ts). Run as a process of its own
 * (`node --import tsx bare-edge.ts <app-throws|precheck-throws>`) it prints its port, and its app or precheck
 * throws: what becomes of a process whose request listener throws is what the test looks at.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiKeyRepository, AuditLog } from '@kmsgate/store';
import { AuthRefusals } from '../../src/auth/refusals';
import { clientAddressResolver } from '../../src/http/client-address';
import { edge } from '../../src/http/edge';
import { ConcurrencyBudget, RateLimiter } from '../../src/http/limits';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics';

export interface BareEdge {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startBareEdge(opts: {
  refresh: () => Promise<void>;
  findByApiKey?: (k: string) => unknown;
  app: RequestListener;
  log: (line: string) => void;
}): Promise<BareEdge> {
  const metrics = createMetrics();
  const logger = createLogger({ level: 'error', sink: opts.log });
  const now = () => new Date();
  const apiKeys = {
    findByApiKey: opts.findByApiKey ?? ((k: string) => (k === 'good' ? { apiKeyId: 'ak_test', label: 'test', role: 'admin' } : undefined)),
    findSigV4Secret: () => undefined,
  } as unknown as ApiKeyRepository;
  // Refusals are only counted here; the aggregate is never flushed to this audit log.
  const refusals = new AuthRefusals({} as AuditLog, metrics, logger, { intervalMs: 60_000, maxEntries: 10, now });
  const listener = edge(
    {
      apiKeys,
      store: {
        refreshFor: async (request) => {
          await opts.refresh();
          return request();
        },
      },
      logger,
      refusals,
      clientAddress: clientAddressResolver([]),
      perSource: new RateLimiter({ requestsPerSecond: 1000, burst: 1000 }, 100),
      openEndpoints: new ConcurrencyBudget(2),
      metrics,
      now,
    },
    opts.app,
  );
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  const mode = process.argv[2];
  void startBareEdge({
    refresh: async () => {},
    findByApiKey: (k) => {
      if (mode === 'precheck-throws') throw new TypeError(`a bug in the API key lookup (${k})`);
      return { apiKeyId: 'ak_test', label: 'test', role: 'admin' };
    },
    app: () => {
      throw new RangeError('a bug in the app');
    },
    log: (line) => process.stdout.write(line + '\n'),
  }).then((e) => process.stdout.write(`listening on ${e.url}\n`));
}
