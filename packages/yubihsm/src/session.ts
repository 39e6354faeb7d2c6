/**
 * One authenticated SCP03 session with the device. Used by one caller at a time (the pool sees
 * to that), because counter and MAC chain only work when exchanges are strictly ordered.
 */
import { randomBytes } from 'node:crypto';
import * as AuthenticateSession from './commands/authenticate-session';
import * as CloseSession from './commands/close-session';
import * as CreateSession from './commands/create-session';
import * as DeviceInfo from './commands/device-info';
import type { Transport } from './connector';
import { DeviceError, ProtocolError } from './errors';
import { responsePayload } from './response';
import { Scp03Channel } from './scp03/channel';
import { CHALLENGE_LENGTH } from './scp03/cryptogram';
import type { AuthKey } from './scp03/kdf';
import { MAC_LENGTH } from './scp03/mac';
import { BLOCK_SIZE } from './scp03/util';
import { FRAME_HEADER_LENGTH, MAX_MSG_SIZE, frame } from './wire';

/**
 * Largest inner payload that still fits in one SESSION_MESSAGE of `messageLimit` bytes:
 * outer header, session ID, the padded inner frame (padding adds at least one byte) and the MAC.
 */
export function maxSessionPayload(messageLimit: number = MAX_MSG_SIZE): number {
  const room = messageLimit - FRAME_HEADER_LENGTH - 1 - MAC_LENGTH;
  return Math.floor(room / BLOCK_SIZE) * BLOCK_SIZE - 1 - FRAME_HEADER_LENGTH;
}

/** DEVICE_INFO reports the serial as a u32. */
export const MAX_SERIAL = 0xffff_ffff;

export interface SessionOptions {
  /** Lower per-session message cap (tests). */
  messageLimit?: number;
  /** Clock for last-use bookkeeping (tests). */
  now?: () => number;
}

export class Session {
  readonly id: number;
  readonly authKeyId: number;
  readonly openedAt: number;
  /** Set by open() before the session is handed out. */
  #deviceSerial!: number;
  #lastUsed: number;
  readonly #channel: Scp03Channel;
  readonly #transport: Transport;
  readonly #now: () => number;
  #busy = false;
  #broken = false;

  private constructor(transport: Transport, authKeyId: number, channel: Scp03Channel, now: () => number) {
    this.#transport = transport;
    this.authKeyId = authKeyId;
    this.#channel = channel;
    this.id = channel.sessionId;
    this.#now = now;
    this.openedAt = now();
    this.#lastUsed = this.openedAt;
  }

  /**
   * CREATE_SESSION, AUTHENTICATE_SESSION, then DEVICE_INFO inside the new session: three
   * connector requests. Asking inside the session means the serial comes from the device that
   * holds our authentication key, whatever sits between us and it.
   */
  static async open(transport: Transport, authKeyId: number, authKey: AuthKey, options: SessionOptions = {}): Promise<Session> {
    const hostChallenge = new Uint8Array(randomBytes(CHALLENGE_LENGTH));
    const created = CreateSession.decodeResponse(
      responsePayload(await transport.send(frame(CreateSession.CODE, CreateSession.encodeRequest({ authKeyId, hostChallenge }))), CreateSession.CODE),
    );
    const channel = Scp03Channel.forHost(authKey, created.sessionId, hostChallenge, created.cardChallenge, created.cardCryptogram, {
      messageLimit: options.messageLimit,
    });
    try {
      AuthenticateSession.decodeResponse(responsePayload(await transport.send(channel.authenticateSessionCommand()), AuthenticateSession.CODE));
      channel.markAuthenticated();
    } catch (e) {
      channel.close();
      throw e;
    }
    const session = new Session(transport, authKeyId, channel, options.now ?? Date.now);
    try {
      session.#deviceSerial = DeviceInfo.decodeResponse(await session.send(DeviceInfo.CODE, DeviceInfo.encodeRequest({}))).serial;
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  /** Serial of the device this session is authenticated to. */
  get deviceSerial(): number {
    return this.#deviceSerial;
  }

  /** When the device last heard from this session (its 30 s inactivity timer restarts then). */
  get lastUsed(): number {
    return this.#lastUsed;
  }

  get messageCount(): number {
    return this.#channel.messageCount;
  }

  get remainingMessages(): number {
    return this.#channel.messageLimit - this.#channel.messageCount;
  }

  /** False once closed, or once an exchange failed in a way that leaves device and host out of step. */
  get usable(): boolean {
    return !this.#broken && this.#channel.state === 'authenticated';
  }

  /**
   * Sends one command inside the session; resolves with the response payload. A device error
   * inside the session (e.g. OBJECT_NOT_FOUND) throws DeviceError and leaves the session usable;
   * transport, MAC or session-level failures throw and make it unusable.
   */
  async send(command: number, payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (this.#busy) throw new ProtocolError('state', `session ${this.id} is already in use`);
    if (!this.usable) throw new ProtocolError('state', `session ${this.id} is no longer usable`);
    this.#busy = true;
    try {
      // Throws SessionLimitError before anything is sent.
      const outer = this.#channel.wrap(frame(command, payload));
      this.#lastUsed = this.#now();
      let inner: Uint8Array;
      try {
        inner = this.#channel.unwrap(await this.#transport.send(outer, timeoutMs));
      } catch (e) {
        this.#broken = true;
        throw e;
      }
      try {
        return responsePayload(inner, command);
      } catch (e) {
        if (!(e instanceof DeviceError)) this.#broken = true;
        throw e;
      }
    } finally {
      this.#busy = false;
    }
  }

  /** CLOSE_SESSION (frees the device's slot), then zeroes the keys. Never throws. */
  async close(): Promise<void> {
    try {
      if (this.usable && this.remainingMessages > 0) await this.send(CloseSession.CODE, CloseSession.encodeRequest());
    } catch {
      // The device frees the slot itself after 30 s of inactivity.
    } finally {
      this.discard();
    }
  }

  /** Zeroes the keys without telling the device. */
  discard(): void {
    this.#broken = true;
    this.#channel.close();
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      authKeyId: this.authKeyId,
      deviceSerial: this.#deviceSerial,
      usable: this.usable,
      messageCount: this.messageCount,
      lastUsed: this.#lastUsed,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Session ${JSON.stringify(this.toJSON())}`;
  }
}
