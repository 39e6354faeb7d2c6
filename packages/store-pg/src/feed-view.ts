/**
 * One view of memory kept current by the change feed (change-feed.ts): reloaded whenever the feed's
 * version has moved since it was loaded, and refused once it has not been confirmed current within
 * the feed's bound. What the request path reads synchronously (keys, aliases, API keys) is served
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

  /** The view; StoreUnavailableError (fail closed) when it is not known to be current. */
  current(): T {
    if (this.#value === undefined || this.#feed.now() - this.#confirmedAt > this.#feed.maxStalenessMs) {
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
