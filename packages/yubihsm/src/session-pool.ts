/**
 * A bounded pool of authenticated sessions. Each session serves one caller at a time, so its
 * counter and MAC chain stay ordered; callers beyond the pool size wait in FIFO order. In steady
 * state a command costs exactly one connector request: sessions are reused, and staleness is
 * judged from the local clock rather than by asking the device.
 */
import { assertInt } from './check';
import { Command } from './codes';
import type { Transport } from './connector';
import { ConnectorError, DeviceError, DeviceErrorCode, ProtocolError, SessionLimitError, WrongDeviceError } from './errors';
import { MAX_MESSAGES_PER_SESSION } from './scp03/channel';
import type { AuthKey } from './scp03/kdf';
import { MAX_SERIAL, Session } from './session';

export const DEFAULT_MAX_SESSIONS = 4;
/**
 * The device drops a session after 30 s without a command (Yubico "Session" concept page;
 * yubihsm.rs `SESSION_INACTIVITY_TIMEOUT`). Sessions idle this long are replaced before use, with
 * a margin for clock skew and request latency.
 */
export const DEVICE_SESSION_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 28_000;
/** The device has 16 session slots (`YH_MAX_SESSIONS`). */
export const DEVICE_MAX_SESSIONS = 16;

export interface SessionPoolOptions {
  transport: Transport;
  authKeyId: number;
  authKey: AuthKey;
  maxSessions?: number;
  /** Replace a session idle this long; keep it below DEVICE_SESSION_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Lower per-session message cap (tests). */
  messageLimit?: number;
  /** Refuse every session to a device with another serial: send() then throws WrongDeviceError. */
  deviceSerial?: number;
  now?: () => number;
}

export interface SendOptions {
  /**
   * Whether the command may run twice. Commands that create or delete objects are not: after a
   * failure that may have happened after the device executed them, they are not retried.
   */
  idempotent?: boolean;
  /**
   * Send only on a session to the device with this serial; on any other, throw WrongDeviceError
   * without sending. Checked on every session tried, the fresh one of a retry included.
   */
  expectSerial?: number;
  /** Connector deadline for this command, when it is slower than the pool's default. */
  timeoutMs?: number;
}

export interface PoolStats {
  /** Requests this pool sent to the connector (session setup with DEVICE_INFO, commands, CLOSE_SESSION). */
  connectorRequests: number;
  /** Calls to send(), whatever their outcome. */
  commands: number;
  sessionsOpened: number;
  sessionsClosed: number;
  /** Sessions dropped without CLOSE_SESSION: broken, idle too long, or out of messages. */
  sessionsDiscarded: number;
  /** Commands sent a second time on a fresh session after a session or transport failure. */
  retries: number;
  open: number;
  idle: number;
  waiting: number;
}

type Grant = Session | null;

interface Waiter {
  resolve(grant: Grant): void;
  reject(e: unknown): void;
}

export class SessionPool {
  readonly maxSessions: number;
  readonly idleTimeoutMs: number;
  readonly #transport: Transport;
  readonly #authKeyId: number;
  readonly #authKey: AuthKey;
  readonly #messageLimit: number | undefined;
  readonly #deviceSerial: number | undefined;
  readonly #now: () => number;
  /** Most recently used last, so the busiest sessions stay warm and the others expire. */
  readonly #idle: Session[] = [];
  readonly #waiters: Waiter[] = [];
  /** Sessions open or being opened, including ones handed to a waiter. Never above maxSessions. */
  #slots = 0;
  #closed = false;
  readonly #stats = { connectorRequests: 0, commands: 0, sessionsOpened: 0, sessionsClosed: 0, sessionsDiscarded: 0, retries: 0 };

  constructor(options: SessionPoolOptions) {
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    assertInt('maxSessions', maxSessions, 1, DEVICE_MAX_SESSIONS);
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    assertInt('idleTimeoutMs', idleTimeoutMs, 0, DEVICE_SESSION_TIMEOUT_MS);
    assertInt('authKeyId', options.authKeyId, 1, 0xfffe);
    if (options.deviceSerial !== undefined) assertInt('deviceSerial', options.deviceSerial, 0, MAX_SERIAL);
    // DEVICE_INFO at open spends one message; with a cap of 1 no command would ever fit.
    if (options.messageLimit !== undefined) assertInt('messageLimit', options.messageLimit, 2, MAX_MESSAGES_PER_SESSION);
    this.maxSessions = maxSessions;
    this.idleTimeoutMs = idleTimeoutMs;
    const counted = options.transport;
    this.#transport = {
      send: (message, timeoutMs) => {
        this.#stats.connectorRequests++;
        return counted.send(message, timeoutMs);
      },
    };
    this.#authKeyId = options.authKeyId;
    this.#authKey = options.authKey;
    this.#messageLimit = options.messageLimit;
    this.#deviceSerial = options.deviceSerial;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Sends one command on a pooled session and resolves with the response payload. A failure of
   * the session itself (INVALID_SESSION, AUTHENTICATION_FAILED, MAC mismatch, transport error) on
   * a reused session discards it and retries once on a fresh one.
   */
  async send(command: number, payload: Uint8Array, options: SendOptions = {}): Promise<Uint8Array> {
    return (await this.exchange(command, payload, options)).payload;
  }

  /** send(), also telling which device (by serial) answered. */
  async exchange(command: number, payload: Uint8Array, options: SendOptions = {}): Promise<{ payload: Uint8Array; deviceSerial: number }> {
    const idempotent = options.idempotent ?? true;
    let fresh = false;
    let retried = false;
    this.#stats.commands++;
    for (;;) {
      const { session, reused } = await this.acquire(fresh);
      if (options.expectSerial !== undefined && session.deviceSerial !== options.expectSerial) {
        this.release(session);
        throw new WrongDeviceError(options.expectSerial, session.deviceSerial);
      }
      try {
        const result = await session.send(command, payload, options.timeoutMs);
        this.release(session);
        return { payload: result, deviceSerial: session.deviceSerial };
      } catch (e) {
        this.release(session);
        // Nothing was sent: move to a new session without spending the one retry.
        if (e instanceof SessionLimitError) {
          fresh = true;
          continue;
        }
        if (!retried && reused && retryOnFreshSession(e, idempotent)) {
          retried = true;
          fresh = true;
          this.#stats.retries++;
          continue;
        }
        throw e;
      }
    }
  }

  stats(): PoolStats {
    return { ...this.#stats, open: this.#slots, idle: this.#idle.length, waiting: this.#waiters.length };
  }

  /** Sends CLOSE_SESSION on every idle session; the pool stays usable and opens new ones on demand. */
  async closeIdle(): Promise<void> {
    const sessions = this.#idle.splice(0);
    for (let i = 0; i < sessions.length; i++) this.freeSlot();
    await Promise.all(sessions.map((s) => this.closeSession(s)));
  }

  /** Drops every idle session without telling the device (after RESET_DEVICE, all are gone). */
  discardIdle(): void {
    for (const s of this.#idle.splice(0)) {
      this.discardSession(s);
      this.freeSlot();
    }
  }

  /** Closes idle sessions, fails waiting callers; sessions in use are closed when released. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(new ProtocolError('state', 'session pool is closed'));
    await this.closeIdle();
  }

  private async acquire(fresh: boolean): Promise<{ session: Session; reused: boolean }> {
    if (this.#closed) throw new ProtocolError('state', 'session pool is closed');
    let grant: Grant;
    if (fresh && this.#slots < this.maxSessions) {
      // A retry wants a new session; open one beside the idle ones rather than sacrificing them.
      this.#slots++;
      grant = null;
    } else if (this.#waiters.length === 0 && this.#idle.length > 0) {
      grant = this.#idle.pop()!;
    } else if (this.#slots < this.maxSessions) {
      this.#slots++;
      grant = null;
    } else {
      grant = await new Promise<Grant>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    // From here this caller owns a slot: a session, or the right to open one.
    if (grant && (fresh || !this.fit(grant))) {
      this.retire(grant);
      grant = null;
    }
    if (grant) return { session: grant, reused: true };
    try {
      const session = await Session.open(this.#transport, this.#authKeyId, this.#authKey, { messageLimit: this.#messageLimit, now: this.#now });
      this.#stats.sessionsOpened++;
      if (this.#deviceSerial !== undefined && session.deviceSerial !== this.#deviceSerial) {
        // The connector leads to another device than configured; free its slot and use nothing there.
        await this.closeSession(session);
        throw new WrongDeviceError(this.#deviceSerial, session.deviceSerial);
      }
      return { session, reused: false };
    } catch (e) {
      this.freeSlot();
      throw e;
    }
  }

  /** Usable, not about to time out on the device, and with a message left for CLOSE_SESSION. */
  private fit(s: Session): boolean {
    return s.usable && this.#now() - s.lastUsed < this.idleTimeoutMs && s.remainingMessages > 1;
  }

  /** Leaves the slot with the caller. */
  private retire(s: Session): void {
    if (s.usable && this.#now() - s.lastUsed < this.idleTimeoutMs && s.remainingMessages > 0) {
      // Out of messages but alive: free the device slot in the background.
      void this.closeSession(s);
    } else {
      this.discardSession(s);
    }
  }

  private release(s: Session): void {
    if (!s.usable || this.#closed) {
      if (this.#closed && s.usable) void this.closeSession(s);
      else this.discardSession(s);
      this.freeSlot();
      return;
    }
    const w = this.#waiters.shift();
    if (w) w.resolve(s);
    else this.#idle.push(s);
  }

  private freeSlot(): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(null);
    else this.#slots--;
  }

  private async closeSession(s: Session): Promise<void> {
    await s.close();
    this.#stats.sessionsClosed++;
  }

  private discardSession(s: Session): void {
    s.discard();
    this.#stats.sessionsDiscarded++;
  }
}

/**
 * Whether a failed command should be sent again on a new session. Session-level rejections (an
 * outer error to SESSION_MESSAGE) mean the command never ran, so every command may be retried.
 * After a bad response MAC, a timeout or a broken connection the command may have run, so only
 * idempotent ones are.
 */
function retryOnFreshSession(e: unknown, idempotent: boolean): boolean {
  if (e instanceof DeviceError) {
    if (e.code !== DeviceErrorCode.INVALID_SESSION && e.code !== DeviceErrorCode.AUTHENTICATION_FAILED) return false;
    return e.command === Command.SESSION_MESSAGE || idempotent;
  }
  if (e instanceof ConnectorError) return e.retryable && (e.kind === 'unreachable' || idempotent);
  if (e instanceof ProtocolError) return e.kind !== 'state' && idempotent;
  return false;
}
