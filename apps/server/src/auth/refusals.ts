/**
 * Refusals of requests that are not authenticated (or were throttled) are audited in aggregate:
 * one `deny` record per source, API key (if known) and reason per interval, with the count. A
 * flood of anonymous requests then costs a counter increment each, not a durable write each, and
 * the log grows by a bounded amount per interval (at most `maxEntries` records). Refusals of an
 * authenticated caller (a signer calling an admin operation) still get a record each.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '@kmsgate/store';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';

export interface AuthRefusal {
  /** The client address (the peer, or what a trusted proxy reports: http/client-address.ts). */
  source: string;
  /** Set when the caller authenticated but was throttled. */
  apiKeyId?: string;
  /** The operation label (a known operation name, `unknown`, or `admin:<op>`). */
  operation: string;
  /** The error __type the client got. */
  reason: string;
}

interface Entry {
  source: string;
  apiKeyId: string | undefined;
  reason: string;
  count: number;
  firstAt: number;
  lastAt: number;
  operations: Map<string, number>;
}

/** Counts of distinct operations kept per entry: labels are bounded already, this bounds the summary too. */
const MAX_OPERATIONS_PER_ENTRY = 16;
/** Where refusals from sources beyond `maxEntries` are counted, so the totals stay exact. */
export const OVERFLOW_SOURCE = '(other sources)';

export interface AuthRefusalOptions {
  /** How often the aggregated records are written. */
  intervalMs: number;
  /** Distinct (source, API key, reason) entries kept per interval; the rest share one overflow entry per reason. */
  maxEntries: number;
  now: () => Date;
}

export class AuthRefusals {
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly opts: AuthRefusalOptions,
  ) {}

  /** Counts a refusal (metrics at once, audit at the next flush). Never throws, never writes. */
  record(r: AuthRefusal): void {
    this.metrics.denial('auth', r.reason);
    const at = this.opts.now().getTime();
    let key = `${r.source}\n${r.apiKeyId ?? ''}\n${r.reason}`;
    let entry = this.#entries.get(key);
    if (entry === undefined && this.#entries.size >= this.opts.maxEntries) {
      key = `${OVERFLOW_SOURCE}\n\n${r.reason}`;
      entry = this.#entries.get(key);
    }
    if (entry === undefined) {
      const overflow = key.startsWith(OVERFLOW_SOURCE);
      entry = {
        source: overflow ? OVERFLOW_SOURCE : r.source,
        apiKeyId: overflow ? undefined : r.apiKeyId,
        reason: r.reason,
        count: 0,
        firstAt: at,
        lastAt: at,
        operations: new Map(),
      };
      this.#entries.set(key, entry);
    }
    entry.count += 1;
    entry.lastAt = at;
    const op = entry.operations.has(r.operation) || entry.operations.size < MAX_OPERATIONS_PER_ENTRY ? r.operation : '(other)';
    entry.operations.set(op, (entry.operations.get(op) ?? 0) + 1);
    this.metrics.setAuthRefusalEntries(this.#entries.size);
  }

  /** Distinct entries waiting for the next flush. */
  get pending(): number {
    return this.#entries.size;
  }

  /**
   * Writes one record per entry and forgets them; resolves with how many were written. The records
   * go to the group commit together (one transaction and one flush per group of up to 256), so a
   * flood's tally costs a few durable writes, not one per entry. A record that cannot be written
   * (with every other of its group) is logged; the rest are still tried. The entries are taken at
   * once, so refusals counted while the records are written go to the next flush.
   */
  async flush(): Promise<number> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    this.metrics.setAuthRefusalEntries(0);
    const results = await Promise.allSettled(
      entries.map(async (e) =>
        this.audit.appendGrouped({
          requestId: randomUUID(),
          operation: AGGREGATE_OPERATION,
          decision: 'deny',
          gate: 'auth',
          reason: e.reason,
          ...(e.apiKeyId !== undefined ? { apiKeyId: e.apiKeyId } : {}),
          summary: { source: e.source, count: e.count, firstAt: e.firstAt, lastAt: e.lastAt, operations: Object.fromEntries(e.operations) },
        }),
      ),
    );
    let written = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        written += 1;
        return;
      }
      const e = entries[i]!;
      this.logger.error('aggregated auth refusals could not be audited', { source: e.source, reason: e.reason, count: e.count, detail: String(r.reason) });
    });
    return written;
  }

  start(): void {
    // flush() never rejects: a record it cannot write is logged.
    this.#timer ??= setInterval(() => void this.flush(), this.opts.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and writes what is pending (at shutdown, before the store closes). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

/** The `operation` of an aggregated record; the operations it covers are counted in its summary. */
export const AGGREGATE_OPERATION = '*';
