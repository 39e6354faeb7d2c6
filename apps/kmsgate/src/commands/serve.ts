/**
 * `kmsgate serve`: the gateway itself, in this process (the same start as `npm start`). Run from the
 * compiled build it is how a service manager starts kmsgate:
 * `node --conditions=kmsgate-built apps/kmsgate/dist/main.js serve` (deploy/systemd/kmsgate.service).
 */
import type { CommandModule } from '../context';

export const serveCommands: CommandModule = (program, { io }) => {
  program
    .command('serve')
    .description(
      'run the gateway: configuration from --config or KMSGATE_CONFIG, HOST, PORT, KMSGATE_DATA_DIR (docs/configuration.md); SIGTERM drains and stops, SIGHUP reloads server.tls',
    )
    .action(() => {
      // The server reads its configuration from the process's environment.
      if (io.env.KMSGATE_CONFIG !== undefined) process.env.KMSGATE_CONFIG = io.env.KMSGATE_CONFIG;
      // Loaded here, not at the top: every other command would otherwise load the whole server.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { serve } = require('@kmsgate/server') as typeof import('@kmsgate/server');
      // It runs until a signal ends the process; the CLI's own exit code does not apply.
      serve();
      return new Promise<never>(() => undefined);
    });
};
