import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/gateway';

export interface SimProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGKILL: the device vanishes mid-command, connections reset. Resolves when the process is gone. */
  kill(): Promise<void>;
}

/**
 * `yubihsm-sim` in its own process, as an operator runs it (`npx yubihsm-sim`), on a free port.
 * Resolves once it says where it listens.
 */
export async function startSimProcess(options: { serial: number; statePath: string; port?: number }): Promise<SimProcess> {
  // The package's bin registers tsx in-process: one process, so SIGKILL reaches the simulator itself.
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'packages', 'yubihsm-sim', 'bin', 'yubihsm-sim.cjs'),
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--serial',
      String(options.serial),
      '--state',
      options.statePath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const onData = (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) {
        child.stderr!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`yubihsm-sim exited with ${code}: ${stderr}`)));
  });
  // Keep reading so a chatty simulator never blocks on a full pipe.
  child.stderr!.resume();
  return {
    url,
    port: Number(new URL(url).port),
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
