/**
 * How a gateway learns, within a second, of a change another gateway made to what it keeps views of
 * (kill switches and runtime policies today; API keys and key metadata can join): every write to
 * those tables bumps the one-row `change_version` (migration 1's statement triggers), and the feed
 * reads that counter — in the background every `pollMs`, and on demand when the last reading is
 * older than `maxStalenessMs`. Subscribers get each reading and reload when the version moved.
 *
 * Reading a one-row counter is cheap, and a poll cannot lose a change the way a dropped
 * LISTEN connection can lose a notification; a request pays a round trip only when the background
 * poll has fallen behind (a stalled event loop, a slow database).
 *
 * A request is confirmed once, at its start (`confirmFor`), and carries that confirmation with it
 * (AsyncLocalStorage): the views serve it for as long as it runs, since what it must see is what
 * was committed before it arrived, and the confirmation proves exactly that. Without it a request
 * whose start was served by a reading 990 ms old found the view stale 10 ms later and was refused
 * (503) though nothing was wrong; re-reading earlier (at a fraction of the bound) would only narrow
 * that window, never close it for a request that outlasts the remainder under load.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pool } from 'pg';
import { guarded } from './faults';

export interface ChangeFeedOptions {
  /** Background poll interval; 0: none (readings only on demand). Default 250. */
  pollMs?: number;
  /** How old a reading may be for `confirm` to return it without reading again. Default 1000. */
  maxStalenessMs?: number;
  /** A monotonic clock in ms (injectable in tests). Default performance.now. */
  now?: () => number;
}

/** One reading of the counter: its value and when the read was sent (never later than the data it describes). */
export interface ChangeReading {
  version: string;
  at: number;
}

export type ChangeSubscriber = (reading: ChangeReading) => Promise<void>;

export class ChangeFeed {
  readonly maxStalenessMs: number;
  readonly now: () => number;
  readonly #pool: Pool;
  readonly #pollMs: number;
  readonly #subscribers: ChangeSubscriber[] = [];
  #last: ChangeReading | undefined;
  #reading: Promise<ChangeReading> | undefined;
  #queued: Promise<ChangeReading> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #request = new AsyncLocalStorage<ChangeReading>();

  constructor(pool: Pool, opts: ChangeFeedOptions = {}) {
    this.#pool = pool;
    this.#pollMs = opts.pollMs ?? 250;
    this.maxStalenessMs = opts.maxStalenessMs ?? 1000;
    this.now = opts.now ?? (() => performance.now());
    if (!Number.isSafeInteger(this.#pollMs) || this.#pollMs < 0) throw new RangeError('pollMs must be a non-negative integer');
    if (!Number.isSafeInteger(this.maxStalenessMs) || this.maxStalenessMs <= 0) throw new RangeError('maxStalenessMs must be a positive integer');
  }

  /** Registers a view's reload; it runs for every reading, before `confirm` returns that reading. */
  subscribe(subscriber: ChangeSubscriber): void {
    this.#subscribers.push(subscriber);
  }

  /** The first reading, then the background poll (which does not keep the process alive). */
  async start(): Promise<void> {
    await this.read();
    if (this.#pollMs > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        // A failed poll is the next request's to report: `confirm` reads again and throws.
        this.read().catch(() => undefined);
      }, this.#pollMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A reading no older than maxStalenessMs, its subscribers run; reads now when needed. Throws StoreUnavailableError. */
  async confirm(): Promise<ChangeReading> {
    const last = this.#last;
    if (last !== undefined && this.now() - last.at <= this.maxStalenessMs) return last;
    return await this.read();
  }

  /**
   * `confirm`, then `request` carrying that reading: what `request` reads of a view, at once or
   * later in its asynchronous course, is served from views at least as current as the reading
   * (`confirmedFor`), never refused as stale midway. A failed confirmation rejects and `request`
   * does not run.
   */
  async confirmFor<T>(request: () => T): Promise<T> {
    const reading = await this.confirm();
    return this.#request.run(reading, request);
  }

  /** The reading the running request was confirmed with (`confirmFor`); undefined outside one. */
  confirmedFor(): ChangeReading | undefined {
    return this.#request.getStore();
  }

  /**
   * Reads the counter and runs the subscribers. A read that starts while another is in progress
   * waits for it and then reads again (shared by everyone who asked meanwhile), so what a caller
   * gets was always read after it asked: a gateway's own write is seen by the read that follows it.
   */
  read(): Promise<ChangeReading> {
    if (this.#reading === undefined) return this.#readNow();
    this.#queued ??= this.#reading
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.read();
      });
    return this.#queued;
  }

  #readNow(): Promise<ChangeReading> {
    this.#reading = (async () => {
      try {
        const at = this.now();
        const { rows } = await guarded('change version', () => this.#pool.query<{ n: string }>('SELECT n FROM change_version'));
        const reading = { version: rows[0]!.n, at };
        for (const s of this.#subscribers) await s(reading);
        this.#last = reading;
        return reading;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}
