/**
 * Reading and cutting the audit log's JSONL mirrors without ever loading a whole file: the last
 * lines read backwards in chunks (start-up repair is O(1)), every line streamed (verification in
 * constant memory), a tail cut off durably, a flush off the event loop.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';

export function datasync(fd: () => number): Promise<void> {
  return new Promise((ok, fail) => fdatasync(fd(), (err) => (err ? fail(err) : ok())));
}

/** The last `n` complete lines of a file that ends with a newline, with their start offsets, read backwards in chunks. */
export function readLastLines(path: string, n: number): { text: string; start: number }[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const CHUNK = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    // Newline offsets (absolute) from the end backwards; the file's last byte is the last line's newline.
    const newlines: number[] = [];
    while (pos > 0 && newlines.length <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const chunk = Buffer.alloc(len);
      readSync(fd, chunk, 0, len, pos);
      buf = Buffer.concat([chunk, buf]);
      for (let i = len - 1; i >= 0 && newlines.length <= n; i--) if (chunk[i] === 0x0a) newlines.push(pos + i);
    }
    const ends = newlines.slice(0, n).reverse();
    const starts = ends.map((_, i) => (i === 0 ? (newlines[n] ?? -1) + 1 : ends[i - 1]! + 1));
    return ends.map((end, i) => ({ text: buf.subarray(starts[i]! - pos, end - pos).toString('utf8'), start: starts[i]! }));
  } finally {
    closeSync(fd);
  }
}

export function truncateTo(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The last complete line of a file, read backwards from the end in chunks (never the whole file). */
export function readTail(path: string): { lastLine: { text: string; start: number } | undefined; lastLineEnd: number; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const CHUNK = 64 * 1024;
    const chunks: Buffer[] = [];
    let pos = size;
    let lastNewline = -1; // absolute offset of the last '\n'
    let prevNewline = -1; // the '\n' before it
    while (pos > 0 && prevNewline < 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      chunks.unshift(buf);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) continue;
        if (lastNewline < 0) lastNewline = pos + i;
        else if (prevNewline < 0) {
          prevNewline = pos + i;
          break;
        }
      }
      if (lastNewline < 0 && pos === 0) break;
    }
    if (lastNewline < 0) return { lastLine: undefined, lastLineEnd: 0, size };
    const start = prevNewline + 1;
    const all = Buffer.concat(chunks);
    const text = all.subarray(start - pos, lastNewline - pos).toString('utf8');
    return { lastLine: { text, start }, lastLineEnd: lastNewline + 1, size };
  } finally {
    closeSync(fd);
  }
}

/** Complete lines of a file, read in chunks (constant memory apart from one line); `torn` marks a last line without its newline. */
export function* readLines(path: string): Generator<{ n: number; text: string; torn: boolean }> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let carry: Buffer[] = [];
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      let start = 0;
      for (let i = 0; i < got; i++) {
        if (buf[i] !== 0x0a) continue;
        const piece = buf.subarray(start, i);
        const text = (carry.length ? Buffer.concat([...carry, piece]) : piece).toString('utf8');
        carry = [];
        start = i + 1;
        yield { n: ++n, text, torn: false };
      }
      if (start < got) carry.push(Buffer.from(buf.subarray(start, got)));
    }
    if (carry.length) yield { n: ++n, text: Buffer.concat(carry).toString('utf8'), torn: true };
  } finally {
    closeSync(fd);
  }
}
