/**
 * The process's own streams, for the kmsgate and api-key CLIs. When the reader of a pipe goes away
 * (`kmsgate audit tail -f | head -3`), the next write fails with EPIPE. A Unix tool is killed by
 * SIGPIPE there, silently; Node ignores SIGPIPE and would report the EPIPE as an uncaught error
 * instead, so the process ends here the way the tool would: no message, exit status 141 (128 +
 * SIGPIPE), which is what a shell reports for `yes | head -1` under `set -o pipefail`.
 */
export interface ProcessIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** 128 + SIGPIPE (13): the status of a process a closed pipe ended. */
export const SIGPIPE_EXIT_STATUS = 141;

let watching = false;

function endOnClosedPipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(SIGPIPE_EXIT_STATUS);
  throw err;
}

export function processIo(): ProcessIo {
  if (!watching) {
    process.stdout.on('error', endOnClosedPipe);
    process.stderr.on('error', endOnClosedPipe);
    watching = true;
  }
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}
