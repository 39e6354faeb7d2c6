/**
 * Who is at the other end of a Unix socket, as the kernel recorded it when the peer connected
 * (SO_PEERCRED, Linux socket(7) and unix(7)): not something the peer can claim. Node has no API
 * for it, so it is read with getsockopt through koffi, which the daemon already uses for libteec.
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';

// <asm-generic/socket.h>, the values on x86-64 and arm64; other architectures (MIPS, SPARC, PA-RISC) differ.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
// struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields.
const UCRED_BYTES = 12;

type GetSockOpt = (fd: number, level: number, name: number, cred: { uid?: number }, len: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function load(): GetSockOpt {
  const libc = koffi.load('libc.so.6');
  // Anonymous: koffi's type names are process-wide, and this module may be loaded more than once.
  const ucred = koffi.struct({ pid: 'int32_t', uid: 'uint32_t', gid: 'uint32_t' });
  return libc.func('getsockopt', 'int', ['int', 'int', 'int', koffi.out(koffi.pointer(ucred)), koffi.inout(koffi.pointer('uint32_t'))]) as GetSockOpt;
}

/** The peer's uid, or undefined when it cannot be read (not Linux x64/arm64, no libc, not a Unix socket). */
export function peerUid(socket: Socket): number | undefined {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return undefined;
  // The accepted pipe's file descriptor: Node keeps it on the socket's handle.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    getsockopt ??= load();
  } catch {
    return undefined;
  }
  const cred: { uid?: number } = {};
  const len = [UCRED_BYTES];
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0 || len[0] !== UCRED_BYTES || typeof cred.uid !== 'number') return undefined;
  return cred.uid;
}
