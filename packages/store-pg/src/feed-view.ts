/**
 * One view of memory kept current by the change feed (change-feed.ts): reloaded whenever the feed's
 * version has moved since it was loaded, and refused once it has not been confirmed current within
 * the feed's bound — except to a request the feed confirmed at its start (`ChangeFeed.confirmFor`),
 * which this view served from that reading on: the view is at least as current as the reading the
 * request was admitted with, so it is what the request may see however long the request runs. What the request path reads synchronously (keys, aliases, API keys) is served
 * from such views, so a request costs no round trip while nothing changes.
 */
import { StoreUnavailableError } from '@kmsgate/policy';
import type { ChangeFeed, ChangeReading } from './change-feed';

export class FeedView<T> {
  readonly #feed: ChangeFeed;
  readonly #what: string;
  readonly #load: () => Promise<T>;
  #value: T | undefined;
  #loaded: string | undefined;
  #confirmedAt = -Infinity;

  /** `what` names the view in the refusal; `load` reads it whole. */
  constructor(feed: ChangeFeed, what: string, load: () => Promise<T>) {
    this.#feed = feed;
    this.#what = what;
    this.#load = load;
    feed.subscribe((reading) => this.#sync(reading));
  }

  /**
   * The view; StoreUnavailableError (fail closed) when it is not known to be current: not confirmed
   * within the bound, or, inside a confirmed request, not synced with the request's reading.
   */
  current(): T {
    const request = this.#feed.confirmedFor();
    const stale = request === undefined ? this.#feed.now() - this.#confirmedAt > this.#feed.maxStalenessMs : this.#confirmedAt < request.at;
    if (this.#value === undefined || stale) {
      throw new StoreUnavailableError(`the ${this.#what} could not be confirmed current (PostgreSQL not reached within the bound)`);
    }
    return this.#value;
  }

  async #sync(reading: ChangeReading): Promise<void> {
    if (reading.version !== this.#loaded) {
      this.#value = await this.#load();
      this.#loaded = reading.version;
    }
    this.#confirmedAt = Math.max(this.#confirmedAt, reading.at);
  }
}

/** `[group, value]` pairs as each group's values, in the order given, frozen (alias names by key, selectors by API key). */
export function groupValues(pairs: Iterable<readonly [string, string]>): Map<string, readonly string[]> {
  const out = new Map<string, string[]>();
  for (const [group, value] of pairs) {
    const list = out.get(group);
    if (list) list.push(value);
    else out.set(group, [value]);
  }
  for (const list of out.values()) Object.freeze(list);
  return out;
}
