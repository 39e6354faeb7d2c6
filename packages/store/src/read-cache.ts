/**
 * What the request path reads on every request (API keys and their scopes, key metadata, aliases,
 * kill switches, runtime policies) changes rarely, and may be changed by another process (the
 * api-key CLI, `kmsgate policy`, a second gateway on the same file). Migration 6's triggers count
 * every write to those tables in `store_version`, whichever connection makes it (a rolled-back
 * write takes its count back with it), so one read of that counter (a one-row table) tells whether
 * anything cached may be stale: when it changed, every cached read of the connection is dropped. A revoke, a kill switch or
 * a DisableKey therefore takes effect on the next read, as it did without the cache.
 *
 * A server reads the counter once per request instead (`check`, at the request's start): the reads
 * in the same turn of the event loop rely on that check, so a write committed before the request
 * started still applies to it, and a write through this connection ends the reliance at once.
 */
import type Database from 'better-sqlite3';
import type { Db } from './db';

/** Entries per cached read before it is emptied and starts over: bounded memory whatever the callers ask for. */
export const READ_CACHE_MAX_ENTRIES = 4096;

/** The tables whose writes migrations 6 and 9 count (api_keys: every column but last_used_at). */
export const CACHED_TABLES = ['keys', 'aliases', 'api_keys', 'api_key_scopes', 'signing_policies', 'kill_switches', 'key_materials'] as const;

/** One cached read: `load`'s results by key, valid while `store_version` stands still. */
export interface CachedRead<K, V> {
  get(key: K, load: () => V): V;
}

const caches = new WeakMap<Db, ReadCache>();

export class ReadCache {
  readonly #version: Database.Statement<[], number>;
  readonly #maps: Map<unknown, unknown>[] = [];
  readonly #db: Db;
  #seen: number | undefined;
  /** Set from a `check` to the end of its turn of the event loop, and until this connection writes. */
  #checkedThisTurn = false;
  #watchingOwnWrites = false;

  private constructor(db: Db) {
    this.#db = db;
    this.#version = db.prepare<[], number>('SELECT n FROM store_version').pluck();
  }

  /** The cache of a connection, shared by every store class on it, so a write through any of them is seen by all. */
  static of(db: Db): ReadCache {
    let cache = caches.get(db);
    if (cache === undefined) {
      cache = new ReadCache(db);
      caches.set(db, cache);
    }
    return cache;
  }

  /**
   * A new cached read. `keepMisses: false` leaves an undefined result uncached, for reads keyed by
   * what anyone can send (an unknown API key), so guessing cannot push the real entries out.
   */
  read<K, V>({ keepMisses = true }: { keepMisses?: boolean } = {}): CachedRead<K, V> {
    const map = new Map<K, V>();
    this.#maps.push(map);
    return {
      get: (key, load) => {
        if (!this.#checkedThisTurn) this.#check();
        if (map.has(key)) return map.get(key)!;
        const value = load();
        if (value === undefined && !keepMisses) return value;
        if (map.size >= READ_CACHE_MAX_ENTRIES) map.clear();
        map.set(key, value);
        return value;
      },
    };
  }

  /**
   * Checks the counter now, and lets every cached read until the end of this turn of the event loop
   * rely on that check instead of reading the counter again (a server calls it when a request
   * starts). A write through this connection ends the reliance at once: a temporary trigger on
   * `store_version`, which fires only for this connection's own writes, reports it, so the next
   * read checks again, exactly as without this.
   */
  check(): void {
    if (!this.#watchingOwnWrites) {
      this.#db.function('kmsgate_read_cache_own_write', () => {
        this.#checkedThisTurn = false;
        return null;
      });
      this.#db.exec(
        'CREATE TEMP TRIGGER IF NOT EXISTS read_cache_own_write AFTER UPDATE ON main.store_version BEGIN SELECT kmsgate_read_cache_own_write(); END',
      );
      this.#watchingOwnWrites = true;
    }
    this.#check();
    if (this.#checkedThisTurn) return;
    this.#checkedThisTurn = true;
    setImmediate(() => {
      this.#checkedThisTurn = false;
    });
  }

  /** Empties every cached read if a counted table was written since the last check. */
  #check(): void {
    // The counter is read before anything is loaded, so a value loaded after a concurrent write is
    // at worst newer than the counter it is filed under, never older.
    const n = this.#version.get();
    if (n === this.#seen) return;
    for (const map of this.#maps) map.clear();
    this.#seen = n;
  }
}
