/**
 * A file kept open between the audit log's commits (opening and closing it per commit cost more
 * than the write). Every `open()` first asks which file the path names now (one stat): a file that
 * was rotated, replaced or deleted is noticed there and the new one opened, as if it were opened
 * afresh each time.
 */
import { fstatSync, openSync, statSync } from 'node:fs';

export class KeptFile {
  #open: { fd: number; dev: number; ino: number } | undefined;

  /**
   * `retire` receives each fd this file no longer stands for (after a rotation, or `close`); the
   * owner closes it once no flush still uses it.
   */
  constructor(
    readonly path: string,
    private readonly flags: 'a' | 'r',
    private readonly retire: (fd: number) => void,
    private readonly mode?: number,
  ) {}

  /** The fd of the file the path names now, and that file's size. Throws as openSync does (e.g. a missing file with 'r'). */
  open(): { fd: number; size: number } {
    const named = statSync(this.path, { throwIfNoEntry: false });
    const kept = this.#open;
    if (kept !== undefined && named !== undefined && named.ino === kept.ino && named.dev === kept.dev) return { fd: kept.fd, size: named.size };
    const fd = openSync(this.path, this.flags, this.mode);
    const st = fstatSync(fd);
    this.close();
    this.#open = { fd, dev: st.dev, ino: st.ino };
    return { fd, size: st.size };
  }

  /** Lets go of the open fd (handed to `retire`); the next `open()` opens the path again. */
  close(): void {
    if (this.#open !== undefined) this.retire(this.#open.fd);
    this.#open = undefined;
  }
}
