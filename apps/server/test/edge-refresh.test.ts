import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { StoreUnavailableError } from '@kmsgate/policy';
import { REPO_ROOT } from '../src/gateway';
import { startBareEdge } from './helpers/bare-edge';

/**
 * The edge refreshes the store's views before the credential precheck and the app (edge.ts).
 * Only a refresh that fails is answered as a store fault (KMSInternalException, logged as "the
 * store could not be read"); a throw of the precheck or the app is what it was before the refresh
 * existed, the process's uncaught exception, and never dressed up as a store fault.
 */
const post = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'x-api-key': 'good', ...headers }, body: '{}' });

test('a refresh that fails: 500 KMSInternalException, the cause in the log only, and neither the precheck nor the app runs', async () => {
  const lines: string[] = [];
  let looked = 0;
  let served = 0;
  let fail = true;
  const e = await startBareEdge({
    refresh: async () => {
      if (fail) throw new Error('connection refused by db.internal:5432');
    },
    findByApiKey: () => {
      looked++;
      return { apiKeyId: 'ak_test', label: 'test', role: 'admin' };
    },
    app: (_req, res) => {
      served++;
      res.end('ok');
    },
    log: (l) => lines.push(l),
  });
  try {
    const r = await post(e.url);
    expect(r.status).toBe(500);
    expect(r.headers.get('x-amzn-errortype')).toBe('KMSInternalException');
    const body = await r.text();
    expect(body).not.toContain('db.internal');
    expect([looked, served]).toEqual([0, 0]);
    const requestId = r.headers.get('x-amzn-requestid');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: 'request refused: the store could not be read', requestId, error: 'Error: connection refused by db.internal:5432' }),
    ]);
    // Once the store answers again, the same request goes through.
    fail = false;
    expect(await (await post(e.url)).text()).toBe('ok');
    expect([looked, served]).toEqual([1, 1]);
  } finally {
    await e.close();
  }
});

test('a shared store not reached in time, at the refresh or at the lookup after it: 503 DependencyTimeoutException, the process lives on', async () => {
  const lines: string[] = [];
  let refreshFails = true;
  const e = await startBareEdge({
    refresh: async () => {
      if (refreshFails) throw new StoreUnavailableError('PostgreSQL did not answer');
    },
    // A view the refresh did not confirm for the request, refused as stale at the lookup.
    findByApiKey: () => {
      throw new StoreUnavailableError('the API keys could not be confirmed current');
    },
    app: () => {
      throw new Error('not reached');
    },
    log: (l) => lines.push(l),
  });
  try {
    for (const cause of ['PostgreSQL did not answer', 'the API keys could not be confirmed current']) {
      const r = await post(e.url);
      expect(r.status).toBe(503);
      expect(r.headers.get('x-amzn-errortype')).toBe('DependencyTimeoutException');
      expect(await r.text()).not.toContain(cause);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ msg: 'request refused: the store could not be read', error: `StoreUnavailableError: ${cause}` });
      refreshFails = false;
    }
  } finally {
    await e.close();
  }
});

/** The bare edge in a process of its own, whose app (or precheck) throws: how the process ends, and what it wrote. */
async function throwingEdge(mode: 'app-throws' | 'precheck-throws'): Promise<{ status: number | null; stdout: string; stderr: string; answer: string }> {
  // One node process with tsx's loader (as spawnMain), so a kill reaches the edge itself.
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'helpers', 'bare-edge.ts'), mode], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`bare edge exited with ${code} before listening: ${stderr}`)));
  });
  // The process dies with the request: the client gets no answer (a reset), never a 500 from the edge.
  const answer = await post(url).then(
    (r) => `HTTP ${r.status}`,
    (e: Error) => `failed: ${e.message}`,
  );
  // An answer means the process lived on: end it here rather than wait for a death that will not come.
  if (!answer.startsWith('failed')) child.kill('SIGKILL');
  return { status: await exited, stdout, stderr, answer };
}

test.each(['app-throws', 'precheck-throws'] as const)(
  '%s: the error is the uncaught exception it was before the refresh, not a store fault',
  async (mode) => {
    const r = await throwingEdge(mode);
    expect(r.answer).toMatch(/^failed: /);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(mode === 'app-throws' ? 'RangeError: a bug in the app' : 'TypeError: a bug in the API key lookup (good)');
    expect(r.stdout).not.toContain('the store could not be read');
  },
  150_000,
);
