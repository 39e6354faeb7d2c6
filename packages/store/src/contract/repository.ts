/**
 * What every store contract shares. A repository has two kinds of methods:
 *
 * - `view`: synchronous reads of what every request needs (a key, an alias, an API key), served from
 *   the gateway's view of the store. The view is as current as the last `GatewayStore.refresh()` (the
 *   request edge calls it once per request) or the last write through the same store, whichever came
 *   later: a write made elsewhere applies from the next request on, a write made here at once.
 * - `async`: writes and the reads that are not on every request's path (listings, sweeps); they reach
 *   the database and return Promises.
 *
 * Each contract lists which method is which in a `MethodKinds` table, checked by the compiler to name
 * every method once, so an implementation over a synchronous database (SQLite) can be wrapped without
 * writing each method out again (sqlite-gateway-store.ts).
 */
export type MethodKind = 'view' | 'async';

export type MethodKinds<T> = { readonly [K in keyof T]-?: MethodKind };

/**
 * The synchronous form of a contract: what a class over a synchronous database implements, each
 * async method returning its result directly (its work done when the call returns).
 */
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K];
};
