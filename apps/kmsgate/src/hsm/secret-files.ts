/**
 * Files that hold ceremony secrets (the mnemonic, derived passwords). Read only when no one but the
 * owner can read them, written atomically with mode 0600, like the gateway's passwordFile.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '@kmsgate/core';
import { CliError, printable } from '../context';

export function readSecretFile(path: string, what: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new CliError(`${what} ${printable(path)} does not exist`);
  if ((st.mode & 0o077) !== 0) {
    throw new CliError(`${what} ${printable(path)} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return readFileSync(path, 'utf8');
}

/** `exclusive`: refuse to replace an existing file (a mnemonic must never be silently overwritten). */
export function writeSecretFile(path: string, text: string, opts: { exclusive?: boolean } = {}): void {
  if (opts.exclusive && existsSync(path)) throw new CliError(`${printable(path)} exists already; it is not overwritten`);
  writeFileAtomic(path, text, 0o600);
}

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) throw new CliError(`${printable(path)} is accessible to group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it`);
}
