/**
 * An embedded simulator's state file serves one gateway at a time. Two gateways on one data dir
 * (a second `npm start` on another port) would each load it, keep their own device in memory and
 * overwrite each other's keys at every save: two KMS keys could end up on one device object.
 * `<state file>.lock` holds its owner's pid, created exclusively; a lock whose process is gone
 * (a gateway killed with -9) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

/** Takes the lock or throws naming the process that holds it; returns its release (idempotent). */
export function lockSimulatorState(backendId: string, statePath: string): () => void {
  const lockPath = `${statePath}.lock`;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = ownerOf(lockPath);
      if (owner !== undefined && isRunning(owner)) {
        throw new Error(
          `backend ${backendId}: the embedded simulator's state ${statePath} is in use by process ${owner} (another gateway on this data dir?): stop that one, or give this one another KMSGATE_DATA_DIR`,
        );
      }
      rmSync(lockPath, { force: true });
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    let held = true;
    return () => {
      if (held) rmSync(lockPath, { force: true });
      held = false;
    };
  }
}

/** The pid in a lock file; undefined when it is gone or unreadable (its writer died before writing). */
function ownerOf(lockPath: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
