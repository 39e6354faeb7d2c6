/**
 * What the request path reads on every request (API keys and their scopes, key metadata, aliases,
 * kill switches, runtime policies) changes rarely, and may be changed by another process (the
 * api-key CLI, `kmsgate policy`, a second gateway on the same file). Migration 6's triggers count
 * every write to those tables in `store_version`, whichever connection makes it (a rolled-back
 * write takes its count back with it), so one read of that counter (a one-row table) tells whether
 * anything cached may be stale: when it changed, every cached read of the connection is dropped. A revoke, a kill switch or
 * a DisableKey therefore takes effect on the next read, as it did without the cache.
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
  #seen: number | undefined;

  private constructor(db: Db) {
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
        this.#check();
        if (map.has(key)) return map.get(key)!;
        const value = load();
        if (value === undefined && !keepMisses) return value;
        if (map.size >= READ_CACHE_MAX_ENTRIES) map.clear();
        map.set(key, value);
        return value;
      },
    };
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
