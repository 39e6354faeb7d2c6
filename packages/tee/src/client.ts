/**
 * The bridge client: one persistent Unix-socket connection to the board's bridge daemon, pipelined
 * requests matched by id, a bounded queue, a deadline on every call, reconnect with backoff, and a
 * circuit breaker. It never resends a request that was written to a socket: a sign, generate or
 * delete whose answer is lost fails with `outcomeUnknown`, and the caller decides.
 */
import { createConnection, type Socket } from 'node:net';
import { SYSTEM_CLOCK, type BridgeClock } from './clock';
import { TeeBridgeError } from './errors';
import { decodeJson, encodeFrame, FrameDecoder } from './frames';
import {
  COMMANDS,
  CONNECTION_FATAL_CODES,
  HELLO_VERSION,
  HelloResult,
  MAX_DEADLINE_MS,
  MAX_FRAME_BYTES,
  MAX_REQUEST_ID,
  PROTOCOL_VERSION,
  RequestEnvelope,
  ResponseEnvelope,
  SUPPORTED_VERSIONS,
  describeZodError,
  type BridgeMode,
  type CommandName,
  type ErrorBody,
  type HelloInfo,
  type Payload,
  type Result,
} from './protocol';
import { TEEC_RESULT, parseTeecHex, teecDescribe, teecOriginName } from './teec';

export interface BreakerOptions {
  /** Consecutive session-level failures that open the breaker (default 5). */
  failureThreshold?: number;
  /** How long it stays open before one trial is let through (default 10 000 ms). */
  cooldownMs?: number;
}

export interface TeeBridgeClientOptions {
  socketPath: string;
  /** Connect plus `hello` (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Default per-call deadline, from the call until its answer (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Calls admitted at once, queued plus in flight; one more is refused as overload (default 32). */
  maxOutstanding?: number;
  breaker?: BreakerOptions;
  /** Delay before reconnect attempt n: initialMs · 2^(n-1), at most maxMs (defaults 50 / 2000). */
  reconnectBackoff?: { initialMs?: number; maxMs?: number };
  /** Refuse a daemon whose `hello` reports another mode (production: 'real'). */
  requireMode?: BridgeMode;
  clientName?: string;
  /** Notable events (breaker transitions, late answers, protocol errors), for the server log. */
  onEvent?: (event: string, detail: Record<string, string | number | boolean>) => void;
  /** What deadlines, timeouts, backoff and the cooldown are measured on (default: the system clock). */
  clock?: BridgeClock;
}

export interface CallOptions {
  /** This call's deadline, overriding `requestTimeoutMs`. */
  timeoutMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ClientState {
  connection: 'ready' | 'connecting' | 'disconnected' | 'closed';
  breaker: BreakerState;
  consecutiveFailures: number;
  /** While the breaker is open: ms until it lets a trial through. */
  retryInMs?: number;
  lastFailure?: string;
  outstanding: number;
}

export interface ClientStats {
  calls: number;
  sent: number;
  throttled: number;
  timeouts: number;
  lateAnswers: number;
  sessionFailures: number;
  protocolErrors: number;
  connects: number;
  breakerOpens: number;
}

interface Call {
  cmd: CommandName;
  payload: Record<string, unknown>;
  deadlineAt: number;
  timer: unknown;
  id: number | undefined;
  conn: Connection | undefined;
  settled: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Connection {
  socket: Socket;
  decoder: FrameDecoder;
  state: 'connecting' | 'ready';
  dead: boolean;
  helloId: number;
  connectTimer: unknown;
  window: number;
  maxFrameBytes: number;
  inFlight: Map<number, Call>;
  /** Ids of calls that timed out after being sent: the daemon may still answer them. */
  zombies: Set<number>;
  lastError: string | undefined;
}

/** TEEC codes after which the TA session is gone: they count against the breaker. */
const SESSION_LEVEL_TEEC: ReadonlySet<number> = new Set([TEEC_RESULT.TEEC_ERROR_TARGET_DEAD, TEEC_RESULT.TEEC_ERROR_COMMUNICATION]);

function positiveInt(name: string, value: number | undefined, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer in 1..${max}`);
  return value;
}

export class TeeBridgeClient {
  readonly socketPath: string;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #maxOutstanding: number;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #requireMode: BridgeMode | undefined;
  readonly #clientName: string;
  readonly #onEvent: NonNullable<TeeBridgeClientOptions['onEvent']>;
  readonly #clock: BridgeClock;

  #conn: Connection | undefined;
  #queue: Call[] = [];
  #nextIdValue = 1;
  #closed = false;
  #hello: HelloInfo | undefined;

  #breaker: BreakerState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #lastFailure: string | undefined;

  #connectAttempts = 0;
  #nextAttemptAt = 0;
  #reconnectTimer: unknown;

  readonly #stats: ClientStats = {
    calls: 0,
    sent: 0,
    throttled: 0,
    timeouts: 0,
    lateAnswers: 0,
    sessionFailures: 0,
    protocolErrors: 0,
    connects: 0,
    breakerOpens: 0,
  };

  constructor(options: TeeBridgeClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (typeof options.socketPath !== 'string' || options.socketPath.length === 0) throw new TypeError('socketPath must be a non-empty string');
    this.socketPath = options.socketPath;
    this.#connectTimeoutMs = positiveInt('connectTimeoutMs', options.connectTimeoutMs, 2_000);
    this.#requestTimeoutMs = positiveInt('requestTimeoutMs', options.requestTimeoutMs, 10_000, MAX_DEADLINE_MS);
    this.#maxOutstanding = positiveInt('maxOutstanding', options.maxOutstanding, 32, 1024);
    this.#threshold = positiveInt('breaker.failureThreshold', options.breaker?.failureThreshold, 5, 1000);
    this.#cooldownMs = positiveInt('breaker.cooldownMs', options.breaker?.cooldownMs, 10_000);
    this.#backoffInitialMs = positiveInt('reconnectBackoff.initialMs', options.reconnectBackoff?.initialMs, 50);
    this.#backoffMaxMs = positiveInt('reconnectBackoff.maxMs', options.reconnectBackoff?.maxMs, 2_000);
    this.#requireMode = options.requireMode;
    this.#clientName = options.clientName ?? 'kmsgate';
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** The `hello` of the current (or last) session; undefined before the first handshake. */
  get hello(): HelloInfo | undefined {
    return this.#hello;
  }

  /**
   * Sends one command and resolves with its validated result. Rejects with TeeBridgeError; never
   * later than the call's deadline.
   */
  call<C extends CommandName>(cmd: C, payload: Payload<C>, options: CallOptions = {}): Promise<Result<C>> {
    if (!Object.prototype.hasOwnProperty.call(COMMANDS, cmd) || cmd === 'hello') throw new TypeError(`not a callable bridge command: ${String(cmd)}`);
    const parsed = COMMANDS[cmd].payload.safeParse(payload);
    if (!parsed.success) throw new RangeError(`${cmd} payload: ${describeZodError(parsed.error)}`);
    const timeoutMs = positiveInt('timeoutMs', options.timeoutMs, this.#requestTimeoutMs, MAX_DEADLINE_MS);
    if (this.#closed) return Promise.reject(new TeeBridgeError('unavailable', 'the TEE bridge client is closed', { cmd }));
    this.#stats.calls++;
    const refused = this.#admit(cmd);
    if (refused) return Promise.reject(refused);
    return new Promise<Result<C>>((resolve, reject) => {
      const call: Call = {
        cmd,
        payload: parsed.data as Record<string, unknown>,
        deadlineAt: this.#clock.now() + timeoutMs,
        timer: undefined,
        id: undefined,
        conn: undefined,
        settled: false,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      call.timer = this.#clock.setTimeout(() => this.#onDeadline(call), timeoutMs);
      this.#queue.push(call);
      this.#pump();
    });
  }

  /** A live round trip (ping) that opens a session if needed; resolves with that session's hello. */
  async handshake(options: CallOptions = {}): Promise<HelloInfo> {
    await this.call('ping', {}, options);
    return this.#hello!;
  }

  state(): ClientState {
    const now = this.#clock.now();
    const open = this.#breaker === 'open' && now < this.#openUntil;
    return {
      connection: this.#closed ? 'closed' : !this.#conn ? 'disconnected' : this.#conn.state,
      breaker: this.#breaker === 'open' && !open ? 'half-open' : this.#breaker,
      consecutiveFailures: this.#failures,
      ...(open && { retryInMs: this.#openUntil - now }),
      ...(this.#lastFailure !== undefined && { lastFailure: this.#lastFailure }),
      outstanding: this.#liveCalls(),
    };
  }

  stats(): ClientStats {
    return { ...this.#stats };
  }

  /** Fails every queued and outstanding call and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#rejectQueue((call) => new TeeBridgeError('unavailable', 'the TEE bridge client is closed', { cmd: call.cmd }));
    const conn = this.#conn;
    if (conn) {
      const closed = new Promise<void>((resolve) => {
        if (conn.socket.destroyed) resolve();
        else conn.socket.once('close', () => resolve());
      });
      this.#kill(conn, 'the client is closing', { countFailure: false });
      await closed;
    }
  }

  // -------------------------------------------------------------------------------------------

  #liveCalls(): number {
    return this.#queue.length + (this.#conn?.inFlight.size ?? 0);
  }

  /** Breaker and queue admission; an Error to reject with, or undefined to go ahead. */
  #admit(cmd: CommandName): TeeBridgeError | undefined {
    if (this.#breaker === 'open') {
      const wait = this.#openUntil - this.#clock.now();
      if (wait > 0) {
        return new TeeBridgeError(
          'unavailable',
          `the circuit breaker for the TEE bridge is open after ${this.#threshold} consecutive failures (last: ${this.#lastFailure ?? 'unknown'}); retry in ${Math.ceil(wait / 1000)} s`,
          { cmd },
        );
      }
      // Half-open: calls go through; the next session failure reopens at once, a success closes.
      this.#breaker = 'half-open';
      this.#failures = Math.max(0, this.#threshold - 1);
      this.#onEvent('breaker-half-open', { socketPath: this.socketPath });
    }
    if (this.#liveCalls() >= this.#maxOutstanding) {
      this.#stats.throttled++;
      return new TeeBridgeError('overload', `the TEE bridge queue is full (${this.#maxOutstanding} calls outstanding)`, { cmd });
    }
    return undefined;
  }

  #pump(): void {
    if (this.#closed || this.#queue.length === 0) return;
    const conn = this.#conn;
    if (!conn) {
      this.#scheduleConnect();
      return;
    }
    if (conn.state !== 'ready') return;
    while (this.#queue.length > 0 && conn.inFlight.size + conn.zombies.size < conn.window && !conn.dead) {
      this.#send(conn, this.#queue.shift()!);
    }
  }

  #nextId(): number {
    const id = this.#nextIdValue;
    this.#nextIdValue = id >= MAX_REQUEST_ID ? 1 : id + 1;
    return id;
  }

  #send(conn: Connection, call: Call): void {
    const id = this.#nextId();
    const deadlineMs = Math.max(1, Math.min(MAX_DEADLINE_MS, call.deadlineAt - this.#clock.now()));
    let frame: Uint8Array;
    try {
      const envelope = RequestEnvelope.parse({ v: PROTOCOL_VERSION, id, cmd: call.cmd, deadlineMs, payload: call.payload });
      frame = encodeFrame(envelope, conn.maxFrameBytes);
    } catch (e) {
      this.#settle(call, e instanceof Error ? e : new Error(String(e)));
      return;
    }
    call.id = id;
    call.conn = conn;
    conn.inFlight.set(id, call);
    this.#stats.sent++;
    conn.socket.write(frame);
  }

  #scheduleConnect(): void {
    if (this.#closed || this.#conn || this.#reconnectTimer) return;
    const delay = this.#nextAttemptAt - this.#clock.now();
    if (delay <= 0) {
      this.#connect();
      return;
    }
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#queue.length > 0) this.#connect();
    }, delay);
  }

  #connect(): void {
    this.#stats.connects++;
    const socket = createConnection({ path: this.socketPath });
    const conn: Connection = {
      socket,
      decoder: new FrameDecoder(MAX_FRAME_BYTES),
      state: 'connecting',
      dead: false,
      helloId: this.#nextId(),
      connectTimer: undefined,
      window: 1,
      maxFrameBytes: MAX_FRAME_BYTES,
      inFlight: new Map(),
      zombies: new Set(),
      lastError: undefined,
    };
    this.#conn = conn;
    conn.connectTimer = this.#clock.setTimeout(() => this.#kill(conn, `no session within ${this.#connectTimeoutMs} ms`), this.#connectTimeoutMs);
    socket.on('connect', () => {
      const hello = RequestEnvelope.parse({
        v: HELLO_VERSION,
        id: conn.helloId,
        cmd: 'hello',
        deadlineMs: this.#connectTimeoutMs,
        payload: COMMANDS.hello.payload.parse({ versions: [...SUPPORTED_VERSIONS], client: this.#clientName }),
      });
      socket.write(encodeFrame(hello));
    });
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      conn.lastError = err.code ?? err.message;
    });
    socket.on('close', () => this.#kill(conn, conn.lastError ? `socket error ${conn.lastError}` : 'the bridge closed the connection'));
  }

  #onData(conn: Connection, chunk: Buffer): void {
    conn.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    while (!conn.dead) {
      const frame = conn.decoder.next();
      if (!frame) return;
      if (frame.kind === 'too-large') return this.#protocolError(conn, `the bridge announced a ${frame.length}-byte frame (limit ${MAX_FRAME_BYTES})`);
      if (frame.kind === 'empty') return this.#protocolError(conn, 'the bridge sent an empty frame');
      const json = decodeJson(frame.body);
      if (!json) return this.#protocolError(conn, 'the bridge sent a frame that is not UTF-8 JSON');
      const envelope = ResponseEnvelope.safeParse(json.value);
      if (!envelope.success) return this.#protocolError(conn, `the bridge sent an invalid response (${describeZodError(envelope.error)})`);
      this.#onResponse(conn, envelope.data);
    }
  }

  #onResponse(conn: Connection, response: ResponseEnvelope): void {
    // hello and its answer carry HELLO_VERSION; an error about an unreadable frame may carry either.
    const expected = response.id === conn.helloId ? [HELLO_VERSION] : response.id === null ? [HELLO_VERSION, PROTOCOL_VERSION] : [PROTOCOL_VERSION];
    if (!expected.includes(response.v)) return this.#protocolError(conn, `the bridge answered with protocol version ${response.v}`);
    if (response.id === null) {
      // An error about a frame of ours the daemon could not read; it closes the connection next.
      const e = (response as { error: ErrorBody }).error;
      return this.#protocolError(conn, `the bridge rejected a frame: ${e.code}: ${e.message}`);
    }
    if (conn.state === 'connecting') {
      if (response.id !== conn.helloId) return this.#protocolError(conn, 'the bridge answered before the handshake completed');
      return this.#onHello(conn, response);
    }
    const call = conn.inFlight.get(response.id);
    if (!call) {
      if (conn.zombies.delete(response.id)) {
        // The answer to a call that already failed with a timeout: dropped, never delivered twice.
        this.#stats.lateAnswers++;
        this.#onEvent('late-answer', { id: response.id, ok: response.ok });
        this.#pump();
        return;
      }
      return this.#protocolError(conn, `the bridge answered request id ${response.id}, which is not outstanding`);
    }
    conn.inFlight.delete(response.id);
    if (response.ok) {
      const result = COMMANDS[call.cmd].result.safeParse(response.result);
      if (!result.success) {
        // The TA may have done the work; the answer is unusable.
        this.#settle(
          call,
          new TeeBridgeError('protocol', `the bridge sent an invalid ${call.cmd} result (${describeZodError(result.error)})`, {
            cmd: call.cmd,
            outcomeUnknown: COMMANDS[call.cmd].mutating,
          }),
        );
        return this.#protocolError(conn, `invalid ${call.cmd} result`);
      }
      this.#sessionSuccess();
      this.#settle(call, undefined, result.data);
    } else {
      const e = response.error;
      const teec = e.teec !== undefined ? parseTeecHex(e.teec) : undefined;
      const where = teec !== undefined ? ` ${teecDescribe(teec)} from ${teecOriginName(e.origin!)}` : '';
      const error = new TeeBridgeError('remote', `${call.cmd}: ${e.code}${where}: ${e.message}`, { cmd: call.cmd, remote: e });
      if (teec !== undefined && SESSION_LEVEL_TEEC.has(teec)) this.#sessionFailure(`${call.cmd}: ${teecDescribe(teec)}`);
      else this.#sessionSuccess();
      this.#settle(call, error);
      if (CONNECTION_FATAL_CODES.includes(e.code)) return this.#kill(conn, `the bridge ended the session: ${e.code}`);
    }
    this.#pump();
  }

  #onHello(conn: Connection, response: ResponseEnvelope): void {
    if (!response.ok) {
      const e = (response as { error: ErrorBody }).error;
      return this.#kill(conn, `hello refused: ${e.code}: ${e.message}`);
    }
    const hello = HelloResult.safeParse(response.result);
    if (!hello.success) return this.#protocolError(conn, `invalid hello result (${describeZodError(hello.error)})`);
    const info = hello.data;
    if (!SUPPORTED_VERSIONS.includes(info.protocolVersion))
      return this.#kill(conn, `the bridge chose protocol version ${info.protocolVersion}, which this client does not speak`);
    this.#hello = info;
    if (this.#requireMode && info.mode !== this.#requireMode) {
      return this.#kill(conn, `the bridge reports mode "${info.mode}" but this backend requires "${this.#requireMode}" (production)`);
    }
    this.#clock.clearTimeout(conn.connectTimer);
    conn.state = 'ready';
    conn.window = Math.min(this.#maxOutstanding, info.maxOutstanding);
    conn.maxFrameBytes = Math.min(MAX_FRAME_BYTES, info.maxFrameBytes);
    this.#connectAttempts = 0;
    this.#nextAttemptAt = 0;
    this.#pump();
  }

  #onDeadline(call: Call): void {
    if (call.settled) return;
    call.timer = undefined;
    const conn = call.conn;
    if (call.id === undefined || !conn) {
      const i = this.#queue.indexOf(call);
      if (i >= 0) this.#queue.splice(i, 1);
      this.#stats.timeouts++;
      this.#settle(
        call,
        new TeeBridgeError('timeout', `${call.cmd} was not sent to the TEE bridge before its deadline`, { cmd: call.cmd, outcomeUnknown: false }),
      );
      return;
    }
    conn.inFlight.delete(call.id);
    conn.zombies.add(call.id);
    this.#stats.timeouts++;
    this.#settle(
      call,
      new TeeBridgeError('timeout', `the TEE bridge did not answer ${call.cmd} before its deadline; it may still run`, { cmd: call.cmd, outcomeUnknown: true }),
    );
    this.#sessionFailure(`${call.cmd} timed out`);
    // A session whose whole window waits on answers past their deadline is stuck: start afresh.
    if (!conn.dead && conn.zombies.size >= conn.window) this.#kill(conn, 'every request slot is held by a request past its deadline', { countFailure: false });
  }

  #protocolError(conn: Connection, reason: string): void {
    this.#stats.protocolErrors++;
    this.#onEvent('protocol-error', { reason });
    this.#kill(conn, reason, { kind: 'protocol', countFailure: true });
  }

  /**
   * Ends a connection: rejects what was in flight on it (outcome unknown), and, if it never
   * completed its handshake, what was waiting for it (outcome known: never sent).
   */
  #kill(conn: Connection, reason: string, opts: { kind?: 'unavailable' | 'protocol'; countFailure?: boolean } = {}): void {
    if (conn.dead) return;
    conn.dead = true;
    this.#clock.clearTimeout(conn.connectTimer);
    conn.socket.destroy();
    if (this.#conn === conn) this.#conn = undefined;
    const wasConnecting = conn.state === 'connecting';
    const inFlight = [...conn.inFlight.values()];
    conn.inFlight.clear();
    conn.zombies.clear();
    for (const call of inFlight) {
      this.#settle(
        call,
        new TeeBridgeError(opts.kind ?? 'unavailable', `the session with the TEE bridge ended (${reason}); ${call.cmd} may have run`, {
          cmd: call.cmd,
          outcomeUnknown: true,
        }),
      );
    }
    if (wasConnecting) {
      this.#connectAttempts++;
      this.#nextAttemptAt = this.#clock.now() + Math.min(this.#backoffMaxMs, this.#backoffInitialMs * 2 ** (this.#connectAttempts - 1));
      this.#rejectQueue(
        (call) =>
          new TeeBridgeError('unavailable', `cannot open a session with the TEE bridge at ${this.socketPath}: ${reason}`, {
            cmd: call.cmd,
            outcomeUnknown: false,
          }),
      );
    }
    if (opts.countFailure ?? (wasConnecting || inFlight.length > 0)) this.#sessionFailure(reason);
    if (!this.#closed) this.#pump();
  }

  #rejectQueue(error: (call: Call) => Error): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const call of queued) this.#settle(call, error(call));
  }

  #sessionFailure(reason: string): void {
    this.#failures++;
    this.#stats.sessionFailures++;
    this.#lastFailure = reason;
    if (this.#breaker === 'open') return;
    if (this.#breaker === 'half-open' || this.#failures >= this.#threshold) this.#openBreaker();
  }

  #sessionSuccess(): void {
    this.#failures = 0;
    if (this.#breaker !== 'closed') {
      this.#breaker = 'closed';
      this.#onEvent('breaker-closed', { socketPath: this.socketPath });
    }
  }

  #openBreaker(): void {
    this.#breaker = 'open';
    this.#openUntil = this.#clock.now() + this.#cooldownMs;
    this.#stats.breakerOpens++;
    this.#onEvent('breaker-open', {
      socketPath: this.socketPath,
      failures: this.#failures,
      lastFailure: this.#lastFailure ?? '',
      cooldownMs: this.#cooldownMs,
    });
    this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#rejectQueue(
      (call) =>
        new TeeBridgeError('unavailable', `the circuit breaker for the TEE bridge opened (last failure: ${this.#lastFailure})`, {
          cmd: call.cmd,
          outcomeUnknown: false,
        }),
    );
    if (this.#conn) this.#kill(this.#conn, 'the circuit breaker opened', { countFailure: false });
  }

  #settle(call: Call, error: Error | undefined, value?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.#clock.clearTimeout(call.timer);
    call.timer = undefined;
    if (error) call.reject(error);
    else call.resolve(value);
  }
}
