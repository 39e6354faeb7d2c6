// The device's Log Store (Logging and Logs page; Get Log Entries page): 62 entries, a hash chain
// across them, a ring buffer unless force audit stops commands that cannot be logged, and the two
// counters of events that could not be logged.
import { randomBytes } from 'node:crypto';
import { GetLogEntries } from '@kmsgate/yubihsm';

/** DEVICE_INFO LogTotal on hardware (python-yubihsm's vector, the Logging page: "up to 62"). */
export const LOG_CAPACITY = 62;

const NO_OBJECT = GetLogEntries.NO_OBJECT;
const U16 = 0x10000;

export type LoggedCommand = Omit<GetLogEntries.LogEntryData, 'number'>;

export interface AuditLogSnapshot {
  readonly entries: readonly GetLogEntries.LogEntry[];
  /** Number of the next entry. */
  readonly nextNumber: number;
  /** Digest of the last entry ever written, held or not: the next entry chains to it. */
  readonly lastDigest: Uint8Array;
  readonly unloggedBoots: number;
  readonly unloggedAuths: number;
}

export class AuditLog {
  #entries: GetLogEntries.LogEntry[] = [];
  #nextNumber = 1;
  #lastDigest: Uint8Array = new Uint8Array(GetLogEntries.LOG_DIGEST_LENGTH);
  #unloggedBoots = 0;
  #unloggedAuths = 0;

  constructor(readonly capacity = LOG_CAPACITY) {}

  /** Entries held (not yet released by SET_LOG_INDEX): DEVICE_INFO's LogUsed. */
  get used(): number {
    return this.#entries.length;
  }

  get full(): boolean {
    return this.#entries.length >= this.capacity;
  }

  /**
   * Appends an entry. When the store is full the oldest entry is overwritten: callers that must not
   * lose entries (force audit) check `full` first.
   */
  append(command: LoggedCommand): void {
    const data = { ...command, number: this.#nextNumber };
    const digest = GetLogEntries.logEntryDigest(GetLogEntries.encodeLogEntryData(data), this.#lastDigest);
    if (this.full) this.#entries.shift();
    this.#entries.push({ ...data, digest });
    this.#lastDigest = digest;
    this.#nextNumber = (this.#nextNumber + 1) % U16;
  }

  /**
   * SET_LOG_INDEX: releases the held entries up to and including number `index`. An index that
   * names no held entry (already released, overwritten, or not written yet) releases nothing.
   */
  release(index: number): void {
    const last = (this.#nextNumber - 1 + U16) % U16;
    const behind = (last - index + U16) % U16;
    if (behind < this.#entries.length) this.#entries.splice(0, this.#entries.length - behind);
  }

  countUnloggedBoot(): void {
    this.#unloggedBoots = Math.min(this.#unloggedBoots + 1, 0xffff);
  }

  countUnloggedAuth(): void {
    this.#unloggedAuths = Math.min(this.#unloggedAuths + 1, 0xffff);
  }

  read(): GetLogEntries.Response {
    return { unloggedBoots: this.#unloggedBoots, unloggedAuths: this.#unloggedAuths, entries: this.#entries.map((e) => ({ ...e })) };
  }

  /**
   * A factory reset empties the store and starts a new chain from a random value (Get Log Entries
   * page), with entry 1, every field 0xff, marking the reset.
   */
  reset(): void {
    this.#entries = [];
    this.#nextNumber = 1;
    this.#lastDigest = new Uint8Array(randomBytes(GetLogEntries.LOG_DIGEST_LENGTH));
    this.#unloggedBoots = 0;
    this.#unloggedAuths = 0;
    this.append({ command: 0xff, length: 0xffff, sessionKey: 0xffff, targetKey: 0xffff, secondKey: 0xffff, result: 0xff, tick: 0xffffffff });
  }

  /**
   * The boot entry: zero in every field but the session key, which is "no session" (0xffff) as in
   * python-yubihsm's test_logs_after_reset and the Get Log Entries page's example entry 48.
   */
  static readonly BOOT: LoggedCommand = { command: 0, length: 0, sessionKey: NO_OBJECT, targetKey: 0, secondKey: 0, result: 0, tick: 0 };

  snapshot(): AuditLogSnapshot {
    return {
      entries: this.#entries.map((e) => ({ ...e, digest: e.digest.slice() })),
      nextNumber: this.#nextNumber,
      lastDigest: this.#lastDigest.slice(),
      unloggedBoots: this.#unloggedBoots,
      unloggedAuths: this.#unloggedAuths,
    };
  }

  restore(s: AuditLogSnapshot): void {
    this.#entries = s.entries.map((e) => ({ ...e, digest: e.digest.slice() }));
    this.#nextNumber = s.nextNumber;
    this.#lastDigest = s.lastDigest.slice();
    this.#unloggedBoots = s.unloggedBoots;
    this.#unloggedAuths = s.unloggedAuths;
  }
}
