import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The bin npm linked at the repository root (what `npx kmsgate` runs), as a real process. */
export const ROOT = resolve(__dirname, '..', '..', '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin', 'kmsgate');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kmsgate(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  return new Promise((res) => {
    execFile(BIN, args, { cwd: ROOT, env: full, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
