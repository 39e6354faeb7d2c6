// The device's session slots: 16 of them, ids 0-15, each freed by CLOSE_SESSION, by 30 s without a
// command, by a failed MAC or by RESET_DEVICE (Yubico Session concept page; yubihsm.h
// YH_MAX_SESSIONS).
import { DeviceError, DeviceErrorCode, type Scp03Channel } from '@kmsgate/yubihsm';

export const MAX_SESSIONS = 16;
/** Session concept page: a session left without commands for 30 seconds is closed. */
export const SESSION_TIMEOUT_MS = 30_000;

/** What a session may do, fixed when it is created from its authentication key. */
export interface SessionAuthority {
  readonly authKeyId: number;
  readonly capabilities: bigint;
  readonly delegatedCapabilities: bigint;
  readonly domains: number;
}

export interface Session {
  readonly id: number;
  readonly authority: SessionAuthority;
  readonly channel: Scp03Channel;
  lastUsed: number;
}

export class SessionTable {
  private readonly slots: Array<Session | undefined> = new Array<Session | undefined>(MAX_SESSIONS).fill(undefined);

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the lowest free slot (python-yubihsm's vector shows the first session as 0). */
  open(authority: SessionAuthority, makeChannel: (sessionId: number) => Scp03Channel): Session {
    this.expire();
    const id = this.slots.findIndex((s) => s === undefined);
    if (id === -1) throw new DeviceError(DeviceErrorCode.SESSIONS_FULL);
    const session: Session = { id, authority, channel: makeChannel(id), lastUsed: this.now() };
    this.slots[id] = session;
    return session;
  }

  /** A live session by id; an expired one is dropped on the way, as if its timer had fired. */
  get(id: number): Session | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_SESSIONS) return undefined;
    const session = this.slots[id];
    if (session === undefined) return undefined;
    if (this.isExpired(session)) {
      this.close(id);
      return undefined;
    }
    return session;
  }

  touch(session: Session): void {
    session.lastUsed = this.now();
  }

  close(id: number): void {
    const session = this.slots[id];
    if (session === undefined) return;
    this.slots[id] = undefined;
    session.channel.close();
  }

  closeAll(): void {
    for (let id = 0; id < MAX_SESSIONS; id++) this.close(id);
  }

  /** Live sessions, for diagnostics and tests. */
  count(): number {
    this.expire();
    return this.slots.filter((s) => s !== undefined).length;
  }

  private expire(): void {
    this.slots.forEach((s, id) => {
      if (s !== undefined && this.isExpired(s)) this.close(id);
    });
  }

  private isExpired(session: Session): boolean {
    return this.now() - session.lastUsed >= this.timeoutMs;
  }
}
