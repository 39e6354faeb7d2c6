import { type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { ApiKeyStore, KeyStore, loadOrCreateSealKey, openDb, resolveDbPath, type Db } from '@kmsgate/store';
import { createApp } from './app';
import { startBackends, type StartedBackends } from './backends';
import type { GatewayConfig } from './config';
import type { Logger } from './log';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const VERSION: string = (require(join(REPO_ROOT, 'package.json')) as { version: string }).version;

export interface Gateway {
  url: string;
  port: number;
  db: Db;
  backends: StartedBackends;
  close(): Promise<void>;
}

/** Opens the store, starts the backends and serves the app; the same path for `npm start` and tests. */
export async function startGateway(config: GatewayConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  const db = openDb(resolveDbPath(env));
  let backends: StartedBackends | undefined;
  try {
    backends = await startBackends(config, logger);
    const app = createApp({
      keys: new KeyStore(db),
      apiKeys: new ApiKeyStore(db, loadOrCreateSealKey(config.dataDir)),
      backends: backends.registry,
      arn: { region: config.server.region, accountId: config.server.accountId },
      logger,
      version: VERSION,
      openapiPath: join(REPO_ROOT, 'openapi.yaml'),
    });
    const server: Server = await new Promise((ok, fail) => {
      const s = app.listen(config.server.port, config.server.host, () => ok(s));
      s.once('error', fail);
    });
    server.keepAliveTimeout = 65_000;
    const port = (server.address() as AddressInfo).port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const started = backends;
    return {
      url: `http://${host}:${port}`,
      port,
      db,
      backends: started,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((ok) => server.close(() => ok()));
        await started.close();
        db.close();
      },
    };
  } catch (e) {
    await backends?.close();
    db.close();
    throw e;
  }
}
