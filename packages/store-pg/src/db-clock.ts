/**
 * The database's clock in epoch milliseconds, as SQL: what every window shared by gateways is
 * measured on (rolling caps, replay, a running rotation's age), so gateways whose clocks disagree
 * still agree. clock_timestamp(), not now(): a transaction that waited for a lock reads the time
 * after the wait.
 */
export const DB_NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
