// The daemon side of docs/tee-bridge-protocol.md, shared by the board's bridge daemon (in front of
// libteec) and tee-sim (in front of a simulated TA): a Unix socket (mode 0600), length-prefixed
// JSON frames, a hello handshake, pipelined requests answered by id, and one TA session that
// executes commands one at a time, in arrival order.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  COMMANDS,
  FRAME_READ_TIMEOUT_MS,
  FrameDecoder,
  HELLO_VERSION,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  RequestEnvelope,
  ResponseEnvelope,
  TEEC_ORIGIN,
  TEEC_RESULT,
  decodeJson,
  describeZodError,
  encodeFrame,
  errorBody,
  frameBytes,
  SYSTEM_CLOCK,
  isCommandName,
  teecHex,
  type BridgeClock,
  type CommandName,
  type ErrorBody,
  type ErrorCode,
  type HelloInfo,
} from '@kmsgate/tee';
import type { FaultInjector, FaultSpec } from './faults';
import { peerUid } from './peercred';
import { CallTimeoutError, TaError, type TaExecutor } from './ta-executor';

/** Requests one connection may have waiting or executing before the daemon answers BUSY. */
export const DEFAULT_MAX_OUTSTANDING = 64;

export interface BridgeServerOptions {
  /** Where to listen. An existing socket file nobody listens on is replaced. */
  socketPath: string;
  /** Runs one TA command at a time. */
  executor: TaExecutor;
  /** What hello answers, less the limits this server fills in. */
  identity: Pick<HelloInfo, 'taUuid' | 'buildHash' | 'mode' | 'keyTypes'>;
  maxOutstanding?: number;
  /** How long a partly received frame may stall before the connection is closed. */
  frameTimeoutMs?: number;
  /** One line per notable event (connections, frame errors). */
  log?: (line: string) => void;
  /** Test faults (tee-sim only): a board's daemon never has any. */
  faults?: FaultInjector;
  /** Names this daemon in its own error messages. */
  name?: string;
  /** What request deadlines and the frame read timeout are measured on (default: the system clock). */
  clock?: BridgeClock;
  /**
   * Only a peer process of this uid may talk to the daemon (SO_PEERCRED): any other connection,
   * or one whose credentials cannot be read, is closed before a byte of it is read.
   */
  allowedUid?: number;
}

export interface BridgeStats {
  connections: number;
  openConnections: number;
  requests: number;
  /** Commands the TA actually executed, by name: a sign that ran twice shows here. */
  invocations: Record<CommandName, number>;
  frameErrors: number;
  /** Connections closed at once because the peer was not the allowed uid. */
  refusedPeers: number;
}

export interface RunningBridgeServer {
  socketPath: string;
  hello: HelloInfo;
  stats(): BridgeStats;
  /** Resolves once the TA has nothing queued or running. */
  idle(): Promise<void>;
  /** Closes every open connection now (the daemon going away mid-session). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface Conn {
  socket: Socket;
  decoder: FrameDecoder;
  helloDone: boolean;
  /** Request ids received and not yet answered (or dropped). */
  outstanding: Set<number>;
  /** No more answers are written: closed, or ending after a frame-level error. */
  dead: boolean;
  peerEnded: boolean;
  frameTimer: unknown;
}

interface Job {
  conn: Conn;
  id: number;
  cmd: Exclude<CommandName, 'hello'>;
  payload: Record<string, unknown>;
  deadlineMs: number;
  deadlineAt: number;
  fault: FaultSpec | undefined;
}

export async function startBridgeServer(options: BridgeServerOptions): Promise<RunningBridgeServer> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.socketPath !== 'string' || options.socketPath.length === 0) throw new TypeError('socketPath must be a non-empty string');
  if (options.allowedUid !== undefined && !(Number.isInteger(options.allowedUid) && options.allowedUid >= 0 && options.allowedUid <= 0xffff_ffff))
    throw new RangeError('allowedUid must be an integer in 0..4294967295');
  const maxOutstanding = options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
  if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1 || maxOutstanding > 1024) throw new RangeError('maxOutstanding must be an integer in 1..1024');
  const frameTimeoutMs = options.frameTimeoutMs ?? FRAME_READ_TIMEOUT_MS;
  const log = options.log ?? (() => undefined);
  const name = options.name ?? 'the bridge daemon';
  const { executor, faults } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const hello: HelloInfo = {
    protocolVersion: PROTOCOL_VERSION,
    ...options.identity,
    maxFrameBytes: MAX_FRAME_BYTES,
    maxOutstanding,
  };
  const stats: BridgeStats = {
    connections: 0,
    openConnections: 0,
    requests: 0,
    invocations: Object.fromEntries(Object.keys(COMMANDS).map((c) => [c, 0])) as Record<CommandName, number>,
    frameErrors: 0,
    refusedPeers: 0,
  };
  const conns = new Set<Conn>();

  // ---- writing ------------------------------------------------------------------------------

  const write = (conn: Conn, envelope: unknown): void => {
    if (conn.dead || conn.socket.destroyed) return;
    conn.socket.write(encodeFrame(envelope));
  };

  const answerOk = (conn: Conn, id: number, cmd: CommandName, result: unknown): void => {
    conn.outstanding.delete(id);
    // Validate what we send, too: a simulator bug must not teach the client a wrong protocol.
    const checked = COMMANDS[cmd].result.safeParse(result);
    if (!checked.success) {
      answerError(
        conn,
        id,
        errorBody('INTERNAL', `${name} produced an invalid ${cmd} result (${describeZodError(checked.error)})`, { outcomeUnknown: COMMANDS[cmd].mutating }),
      );
      return;
    }
    write(conn, ResponseEnvelope.parse({ v: cmd === 'hello' ? HELLO_VERSION : PROTOCOL_VERSION, id, ok: true, result }));
    afterAnswer(conn);
  };

  /** `v`: HELLO_VERSION for anything about a hello frame or before the handshake (see Handshake). */
  const answerError = (conn: Conn, id: number | null, error: ErrorBody, v = conn.helloDone ? PROTOCOL_VERSION : HELLO_VERSION): void => {
    if (id !== null) conn.outstanding.delete(id);
    write(conn, ResponseEnvelope.parse({ v, id, ok: false, error }));
    afterAnswer(conn);
  };

  const afterAnswer = (conn: Conn): void => {
    if (conn.peerEnded && conn.outstanding.size === 0 && !conn.dead) {
      conn.dead = true;
      conn.socket.end();
    }
  };

  /** A frame-level error: answer it, stop reading and writing, close after the answer is flushed. */
  const fatal = (conn: Conn, id: number | null, code: ErrorCode, message: string, v?: number): void => {
    if (conn.dead) return;
    stats.frameErrors++;
    log(`closing a connection: ${code}: ${message}`);
    answerError(conn, id, errorBody(code, message), v);
    conn.dead = true;
    clock.clearTimeout(conn.frameTimer);
    conn.socket.end();
    setTimeout(() => conn.socket.destroy(), 1_000).unref();
  };

  // ---- the TA session: one command at a time ---------------------------------------------------

  const jobs: Job[] = [];
  let running = false;
  let idleWaiters: Array<() => void> = [];

  const enqueue = (job: Job): void => {
    jobs.push(job);
    if (!running) void runJobs();
  };

  const runJobs = async (): Promise<void> => {
    running = true;
    try {
      while (jobs.length > 0) await runJob(jobs.shift()!);
    } finally {
      running = false;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const runJob = async (job: Job): Promise<void> => {
    const { conn, id, cmd } = job;
    if (conn.dead) {
      // The connection went away before the TA got to it: discarded, never invoked.
      conn.outstanding.delete(id);
      return;
    }
    if (clock.now() > job.deadlineAt) {
      answerError(
        conn,
        id,
        errorBody('DEADLINE_EXCEEDED', `${cmd} was not started within its ${job.deadlineMs} ms deadline; it was not executed`, { retryable: true }),
      );
      return;
    }
    const fault = job.fault;
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'hold') await faults?.hold();
    switch (fault?.kind) {
      case 'busy':
        answerError(
          conn,
          id,
          teeError(TEEC_RESULT.TEEC_ERROR_BUSY, TEEC_ORIGIN.TEEC_ORIGIN_TEE, 'the trusted application is busy (injected)', { retryable: true }),
        );
        return;
      case 'targetDead':
        answerError(
          conn,
          id,
          teeError(TEEC_RESULT.TEEC_ERROR_TARGET_DEAD, TEEC_ORIGIN.TEEC_ORIGIN_TEE, 'the trusted application panicked (injected)', {
            outcomeUnknown: COMMANDS[cmd].mutating,
            retryable: true,
          }),
        );
        return;
      case 'garbage':
        conn.outstanding.delete(id);
        if (!conn.dead) conn.socket.write(frameBytes(new TextEncoder().encode('this is not JSON {')));
        return;
      case 'oversized': {
        conn.outstanding.delete(id);
        const head = new Uint8Array(4);
        new DataView(head.buffer).setUint32(0, MAX_FRAME_BYTES + 1, false);
        if (!conn.dead) conn.socket.write(head);
        return;
      }
      case 'truncated': {
        conn.outstanding.delete(id);
        const partial = frameBytes(new Uint8Array(100).fill(0x20)).subarray(0, 14);
        if (!conn.dead) {
          conn.dead = true;
          conn.socket.end(partial);
        }
        return;
      }
      default:
        break;
    }
    stats.invocations[cmd]++;
    let result: unknown;
    try {
      result = await executor.invoke(cmd, job.payload as never);
    } catch (e) {
      if (e instanceof TaError) {
        answerError(conn, id, teeError(e.teec, e.origin, e.message, { outcomeUnknown: e.outcomeUnknown, retryable: e.retryable }));
      } else if (e instanceof CallTimeoutError) {
        // Started and still running in the TA: it may yet take effect.
        answerError(conn, id, errorBody('DEADLINE_EXCEEDED', e.message, { outcomeUnknown: true, retryable: true }));
      } else {
        log(`internal error in ${cmd}: ${(e as Error).stack ?? String(e)}`);
        answerError(conn, id, errorBody('INTERNAL', `${name} failed in ${cmd}`, { outcomeUnknown: COMMANDS[cmd].mutating }));
      }
      return;
    }
    if (fault?.kind === 'drop') {
      conn.outstanding.delete(id);
      return;
    }
    answerOk(conn, id, cmd, result);
  };

  // ---- reading --------------------------------------------------------------------------------

  const onFrame = (conn: Conn, body: Uint8Array): void => {
    const json = decodeJson(body);
    if (!json) return fatal(conn, null, 'BAD_FRAME', 'the frame is not UTF-8 JSON');
    const obj = json.value;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fatal(conn, null, 'BAD_FRAME', 'the frame is not a JSON object');
    const rawId = (obj as { id?: unknown }).id;
    if (typeof rawId !== 'number' || !Number.isInteger(rawId) || rawId < 1 || rawId > 0xffff_ffff)
      return fatal(conn, null, 'BAD_FRAME', 'the request has no valid id (an integer 1..4294967295)');
    const id = rawId;
    // hello travels as HELLO_VERSION, everything after it as the negotiated PROTOCOL_VERSION.
    const isHello = (obj as { cmd?: unknown }).cmd === 'hello';
    const want = isHello ? HELLO_VERSION : PROTOCOL_VERSION;
    const v = (obj as { v?: unknown }).v;
    if (typeof v === 'number' && Number.isInteger(v) && v !== want)
      return fatal(
        conn,
        id,
        'UNSUPPORTED_VERSION',
        `this bridge speaks protocol version ${PROTOCOL_VERSION} (hello as ${HELLO_VERSION}), the frame says ${v}`,
        want,
      );
    if (conn.outstanding.has(id)) return fatal(conn, id, 'BAD_FRAME', `request id ${id} is already outstanding on this connection`);
    stats.requests++;
    const env = RequestEnvelope.safeParse(obj);
    if (!env.success) return answerError(conn, id, errorBody('BAD_REQUEST', `invalid request envelope: ${describeZodError(env.error)}`), want);
    const { cmd, deadlineMs } = env.data;
    if (!isCommandName(cmd)) return answerError(conn, id, errorBody('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(cmd).slice(0, 80)}`));
    const payload = COMMANDS[cmd].payload.safeParse(env.data.payload);
    if (!payload.success) return answerError(conn, id, errorBody('BAD_REQUEST', `invalid ${cmd} payload: ${describeZodError(payload.error)}`), want);
    if (cmd === 'hello') {
      const versions = (payload.data as { versions: number[] }).versions;
      if (!versions.includes(PROTOCOL_VERSION))
        return fatal(
          conn,
          id,
          'UNSUPPORTED_VERSION',
          `this bridge speaks protocol version ${PROTOCOL_VERSION}; the client offers ${versions.join(', ')}`,
          HELLO_VERSION,
        );
      conn.helloDone = true;
      return answerOk(conn, id, 'hello', hello);
    }
    if (!conn.helloDone) return answerError(conn, id, errorBody('HANDSHAKE_REQUIRED', 'send hello first'));
    if (conn.outstanding.size >= maxOutstanding)
      return answerError(conn, id, errorBody('BUSY', `${maxOutstanding} requests are already outstanding on this connection`, { retryable: true }));
    const fault = faults?.take(cmd);
    if (fault?.kind === 'disconnect') {
      log(`dropping a connection on ${cmd} (injected)`);
      conn.dead = true;
      conn.socket.destroy();
      return;
    }
    conn.outstanding.add(id);
    enqueue({ conn, id, cmd, payload: payload.data as Record<string, unknown>, deadlineMs, deadlineAt: clock.now() + deadlineMs, fault });
  };

  const onData = (conn: Conn, chunk: Buffer): void => {
    conn.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    while (!conn.dead) {
      const frame = conn.decoder.next();
      if (!frame) break;
      if (frame.kind === 'too-large') return fatal(conn, null, 'FRAME_TOO_LARGE', `a frame of ${frame.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
      if (frame.kind === 'empty') return fatal(conn, null, 'BAD_FRAME', 'empty frame');
      onFrame(conn, frame.body);
    }
    clock.clearTimeout(conn.frameTimer);
    conn.frameTimer = undefined;
    if (!conn.dead && conn.decoder.hasPartial) {
      conn.frameTimer = clock.setTimeout(() => fatal(conn, null, 'BAD_FRAME', `incomplete frame: no data for ${frameTimeoutMs} ms`), frameTimeoutMs);
    }
  };

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    if (options.allowedUid !== undefined) {
      const uid = peerUid(socket);
      if (uid !== options.allowedUid) {
        stats.refusedPeers++;
        log(
          `refused a connection from ${uid === undefined ? 'a peer whose credentials cannot be read' : `uid ${uid}`}: only uid ${options.allowedUid} may connect`,
        );
        socket.destroy();
        return;
      }
    }
    const conn: Conn = {
      socket,
      decoder: new FrameDecoder(MAX_FRAME_BYTES),
      helloDone: false,
      outstanding: new Set(),
      dead: false,
      peerEnded: false,
      frameTimer: undefined,
    };
    conns.add(conn);
    stats.connections++;
    stats.openConnections++;
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.on('end', () => {
      if (conn.dead) return;
      if (conn.decoder.hasPartial) return fatal(conn, null, 'BAD_FRAME', 'truncated frame: the connection ended mid-frame');
      conn.peerEnded = true;
      afterAnswer(conn);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      conn.dead = true;
      clock.clearTimeout(conn.frameTimer);
      conns.delete(conn);
      stats.openConnections--;
    });
  });

  await listenUnix(server, options.socketPath, name);

  let closing: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    hello,
    stats: () => ({ ...stats, invocations: { ...stats.invocations } }),
    idle: () => (running ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
    dropConnections() {
      for (const conn of conns) {
        conn.dead = true;
        conn.socket.destroy();
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        faults?.release();
        server.close(() => resolve());
        for (const conn of conns) {
          conn.dead = true;
          conn.socket.destroy();
        }
      });
      return closing;
    },
  };
}

function teeError(teec: number, origin: number, message: string, extra: { outcomeUnknown?: boolean; retryable?: boolean } = {}): ErrorBody {
  return errorBody('TEE_ERROR', message, { teec: teecHex(teec), origin, ...extra });
}

/**
 * Listens on a Unix socket readable and writable by the owner only. The socket file is created
 * under a 0177 umask so it is never more open, even for an instant; chmod then makes sure.
 */
async function listenUnix(server: Server, path: string, name: string): Promise<void> {
  await removeStaleSocket(path, name);
  let oldMask: number | undefined;
  try {
    oldMask = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; chmod below still applies.
  }
  let listening: Promise<void>;
  try {
    // The bind (and so the socket file's creation) happens synchronously inside listen().
    listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
  await listening;
  chmodSync(path, 0o600);
}

/** A socket file left by a process that died is replaced; a live one or any other file is an error. */
async function removeStaleSocket(path: string, name: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw new Error(`${name}: ${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${name}: something is already listening on ${path}`);
  unlinkSync(path);
}
