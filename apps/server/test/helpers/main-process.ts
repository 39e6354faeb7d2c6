import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/gateway';

/**
 * Runs the real entry point (apps/server/src/main.ts through tsx) in a child process until it
 * exits; for start-up failures. Not spawnSync, so simulators running in this process keep
 * answering. Killed after `timeoutMs` (then `status` is null): a safety net for a gateway that
 * starts instead of refusing, set just under jest's test timeout because tsx alone can take over
 * 20 s to start when the machine's cores are busy.
 */
export async function runMain(env: NodeJS.ProcessEnv, timeoutMs = 100_000): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'apps', 'server', 'src', 'main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return { status, stderr };
}
