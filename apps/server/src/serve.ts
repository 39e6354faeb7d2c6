import { describeStore } from '@kmsgate/store-open';
import { ConfigError, loadConfig } from './config';
import { startGateway } from './gateway';
import type { TlsMaterial } from './http/tls';
import { createLogger, parseLogFormat } from './log';

/**
 * The gateway as a process: configuration from the environment, start, one log line, and the
 * signals (SIGTERM/SIGINT drain and stop, SIGHUP reloads the TLS certificate). It ends the process
 * itself on a start-up failure (exit 2 for a configuration mistake, 1 otherwise). `npm start`
 * (main.ts) and `kmsgate serve` both run it.
 */
export function serve(): void {
  start().catch((e: unknown) => {
    process.stderr.write(`kmsgate failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

async function start(): Promise<void> {
  const format = parseLogFormat(process.env.LOG_FORMAT);
  if (typeof format !== 'string') {
    process.stderr.write(`kmsgate: ${format.error}\n`);
    process.exit(2);
  }
  const logger = createLogger({ format });
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const gateway = await startGateway(config, logger).catch((e: unknown) => {
    // A password file that is missing or too open is a configuration error, found only when the backend starts.
    if (e instanceof ConfigError) {
      logger.error(e.message);
      process.exit(2);
    }
    throw e;
  });
  logger.info('kmsgate listening', {
    url: gateway.url,
    config: config.source,
    dataDir: config.dataDir,
    store: describeStore({ url: config.store.url }, process.env),
    backends: config.backends.map((b) => `${b.id}${b.embedded ? ' (embedded simulator)' : ''}`),
    ...(gateway.tls ? { tls: describeTls(gateway.tls) } : {}),
  });
  // SIGHUP's default action ends the process; here it reloads the certificate (or says there is none).
  process.on('SIGHUP', () => {
    if (!config.server.tls) {
      logger.warn('SIGHUP: nothing to reload (no server.tls)');
      return;
    }
    try {
      logger.info('TLS certificate reloaded', describeTls(gateway.reloadTls()));
    } catch (e) {
      logger.error('TLS certificate reload refused; still serving the previous one', { detail: e instanceof Error ? e.message : String(e) });
    }
  });
  // A second signal while draining is not caught (the handlers are `once`): it stops the process at once.
  const stop = (signal: string) => {
    logger.info('shutting down', { signal, inflight: gateway.inflight, deadlineMs: config.server.shutdownDeadlineMs });
    gateway.close().then(
      ({ abandoned }) => {
        logger.info('stopped', { abandoned });
        process.exit(0);
      },
      (e: unknown) => {
        logger.error('shutdown failed', { detail: e instanceof Error ? e.message : String(e) });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function describeTls(tls: TlsMaterial): Record<string, string> {
  return { subject: tls.subject, notAfter: tls.notAfter, sha256: tls.fingerprint256 };
}
