import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL for a test suite, and databases of its own in it (so suites run in parallel and
 * cases start empty):
 *
 * - `KMSGATE_TEST_PG_URL` set (CI: .ci/run starts Debian's cluster and sets it): new databases on
 *   that server, dropped afterwards;
 * - otherwise a throwaway cluster (initdb into a temporary directory, trust authentication, a free
 *   port on 127.0.0.1), stopped and deleted afterwards. PostgreSQL refuses to run as root, so as
 *   root the cluster belongs to the `postgres` user (`runuser`).
 *
 * With neither, the suite fails, saying how to get PostgreSQL: it never passes without one.
 */
export interface TestServer {
  /** The superuser URL of the server. */
  adminUrl: string;
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
  /** Drops the databases made here and stops a throwaway cluster. */
  close(): Promise<void>;
}

export const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian/Ubuntu: apt-get install -y postgresql) ' +
  'or point KMSGATE_TEST_PG_URL at a server where this user may CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres).';

export async function testServer(): Promise<TestServer> {
  const external = process.env.KMSGATE_TEST_PG_URL;
  const server = external ? { adminUrl: external, stop: async () => {} } : await throwawayCluster();
  const made: string[] = [];
  return {
    adminUrl: server.adminUrl,
    async createDatabase() {
      const name = `kmsgate_test_${randomBytes(6).toString('hex')}`;
      await admin(server.adminUrl, `CREATE DATABASE ${name}`);
      made.push(name);
      const url = new URL(server.adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      try {
        for (const name of made) await dropDatabase(server.adminUrl, name);
      } finally {
        await server.stop();
      }
    },
  };
}

/**
 * DROP DATABASE … WITH (FORCE) ends the database's connections, but a role without superuser cannot
 * end an autovacuum worker's (42501, "must be a member of the role whose process is being
 * terminated"), and the workers come and go on a busy cluster: dropped again until none is there.
 */
export async function dropDatabase(url: string, name: string): Promise<void> {
  for (;;) {
    try {
      await admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== '42501') throw e;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function binDir(): string {
  const fromPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (fromPath) return fromPath.replace(/\/initdb$/, '');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(INSTALL_HINT);
  return join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function throwawayCluster(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const cmd = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  };
  const dir = mkdtempSync(join(tmpdir(), 'kmsgate-pg-'));
  if (asRoot) {
    chmodSync(dir, 0o755);
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const data = join(dir, 'data');
  try {
    run('initdb', ['-D', data, '-U', 'kmsgate', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // Ports can be taken between choosing and binding: try a few.
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      try {
        run('pg_ctl', [
          '-D',
          data,
          '-w',
          '-t',
          '120',
          '-l',
          join(dir, 'log'),
          '-o',
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
          'start',
        ]);
      } catch (e) {
        if (attempt < 3) continue;
        throw e;
      }
      return {
        adminUrl: `postgres://kmsgate@127.0.0.1:${port}/postgres`,
        async stop() {
          try {
            run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
