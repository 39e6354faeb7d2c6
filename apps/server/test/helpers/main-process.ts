import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/gateway';

/**
 * The gateway as `npm start` runs it: apps/server/src/main.ts in one node process with tsx's loader
 * (`node --import tsx`), so a signal sent to the child reaches the gateway's own handlers. (tsx's
 * CLI would put a relaying parent in between that gives the gateway 30 ms to acknowledge a signal
 * before it kills it and exits 143: on a busy machine a clean SIGTERM then looked like a crash.)
 */
export function spawnMain(env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'ignore', 'pipe']): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps', 'server', 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio,
  });
}

/**
 * Runs the real entry point in a child process until it exits; for start-up failures. Not
 * spawnSync, so simulators running in this process keep answering. Killed after `timeoutMs` (then
 * `status` is null): a safety net for a gateway that starts instead of refusing, set just under
 * jest's test timeout because tsx alone can take over 20 s to start when the machine's cores are busy.
 */
export async function runMain(env: NodeJS.ProcessEnv, timeoutMs = 100_000): Promise<{ status: number | null; stderr: string }> {
  const child = spawnMain(env);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return { status, stderr };
}
