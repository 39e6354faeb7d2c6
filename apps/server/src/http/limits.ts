/**
 * Request-rate limits: a token bucket per source address (checked before anything else is looked
 * at) and one per API key (charged only after the key is authenticated, so nobody can spend
 * another caller's budget by naming its access key id). Each map is bounded: past `maxTracked`
 * entries the least recently used one is forgotten (it starts again with a full bucket).
 */
import { KmsError } from '@kmsgate/core';

export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxTracked: number,
    /** Monotonic milliseconds. */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `key`; false when there is none. */
  take(key: string): boolean {
    const now = this.clock();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.maxTracked) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.limit.burst, at: now };
    } else {
      // Re-inserted below, so the map's order is least recently used first.
      this.#buckets.delete(key);
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.requestsPerSecond);
      b.at = now;
    }
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get tracked(): number {
    return this.#buckets.size;
  }
}

/** A fixed number of slots, no queue: what does not get one is refused at once. */
export class ConcurrencyBudget {
  #used = 0;
  constructor(private readonly slots: number) {}

  /** A release function, or undefined when every slot is taken. */
  acquire(): (() => void) | undefined {
    if (this.#used >= this.slots) return undefined;
    this.#used += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= 1;
    };
  }

  get used(): number {
    return this.#used;
  }
}

/** AWS's answer to a client over its rate (the body AWS services send: `Rate exceeded`). */
export function throttled(): KmsError {
  return new KmsError('ThrottlingException', 'Rate exceeded');
}
