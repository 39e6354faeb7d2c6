import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli';

const BIN = join(ROOT, 'node_modules', '.bin', 'kmsgate');

/** A long-running `kmsgate` process (`audit tail -f`) whose output is waited for, never timed. */
export interface Follower {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with stdout once it satisfies `done` (checked on every chunk of stdout and stderr). */
  until(done: (stdout: string) => boolean): Promise<string>;
  /** The same, for stderr. */
  untilStderr(done: (stderr: string) => boolean): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** `kmsgate audit tail …` with `env` over the test's own environment, as a real process. */
export function followAudit(env: NodeJS.ProcessEnv, ...args: string[]): Follower {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete full.KMS_DB_PATH;
  const child = spawn(BIN, ['audit', 'tail', ...args], { cwd: ROOT, env: full });
  const text = { stdout: '', stderr: '' };
  const waiters: { check: () => boolean }[] = [];
  const wake = () => {
    for (const w of [...waiters]) if (w.check()) waiters.splice(waiters.indexOf(w), 1);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text.stdout += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    text.stderr += chunk;
    wake();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((ok) =>
    child.once('close', (code, signal) => ok({ code, signal, stderr: text.stderr })),
  );
  const until = (stream: 'stdout' | 'stderr') => (done: (out: string) => boolean) =>
    new Promise<string>((ok, fail) => {
      const check = () => {
        if (!done(text[stream])) return false;
        ok(text[stream]);
        return true;
      };
      if (check()) return;
      waiters.push({ check });
      void exit.then((e) =>
        fail(new Error(`kmsgate exited (${e.code ?? e.signal}) before the output expected; stdout:\n${text.stdout}\nstderr:\n${e.stderr}`)),
      );
    });
  return { child, until: until('stdout'), untilStderr: until('stderr'), exit };
}

export const lines = (out: string) => out.split('\n').filter((l) => l !== '');
