/**
 * Group commit, whatever the database: the records handed in during one turn of the event loop are
 * written together by one `write` (one transaction, one flush to stable storage), and while a write
 * is under way the records that arrive meanwhile wait for it and form the next group. So one
 * durable write serves as many records as the traffic brings, and the event loop never waits for
 * the disk or the network. docs/audit.md ("Group commit") is the specification.
 */

/**
 * The most records one group commit writes (more wait for the next). Also the most uncommitted
 * JSONL lines a crash mid-commit can leave, which the start-up repair and the verifier accept.
 */
export const MAX_GROUP_RECORDS = 256;

/**
 * How long at most a group waits for the records of Signs still at the device. Under load this
 * lets one flush (~300 µs of CPU for its two fdatasyncs) serve many records instead of the few that
 * arrive while the previous flush runs; a Sign with nothing else in flight never waits.
 */
export const GROUP_WAIT_MS = 5;

/** A record announced to the group commit (AuditLog.expectGrouped). */
export interface Announcement {
  settle(): void;
}

/**
 * Writes a group; resolves with one result per item, in order, once they are durable. Rejects
 * when none is kept, or when the group's durability is unknown: every caller of the group is
 * then refused, so nobody acts on a record that may not exist.
 */
export type GroupWrite<I, R> = (items: readonly I[]) => Promise<R[]>;

export class GroupCommit<I, R> {
  #group: { item: I; resolve(r: R): void; reject(e: unknown): void }[] = [];
  #scheduled = false;
  /** Records announced (expect) and not yet handed in or called off. */
  #expected = 0;
  /** Set while a group waits for announced records; commits it when they are late. */
  #wait: NodeJS.Timeout | undefined;
  /** Set while a group is being written; the next one waits for it. */
  #busy = false;

  constructor(
    private readonly write: GroupWrite<I, R>,
    private readonly waitMs: number = GROUP_WAIT_MS,
  ) {}

  /** Hands in one item for the next group; `announced` (from `expect`) is settled by it. */
  add(item: I, announced?: Announcement): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#group.push({ item, resolve, reject });
      if (announced) announced.settle();
      else this.#schedule();
    });
  }

  /**
   * Announces an item that will soon be handed to `add` (a Sign on its way to the device). While
   * announced items are outstanding, a group waits for them before it is written, at most
   * `waitMs`: under load one write then serves many. `settle()` calls it off when none will come
   * (idempotent; `add` settles it).
   */
  expect(): Announcement {
    this.#expected++;
    let outstanding = true;
    return {
      settle: () => {
        if (!outstanding) return;
        outstanding = false;
        this.#expected--;
        this.#schedule();
      },
    };
  }

  #schedule(): void {
    if (this.#group.length === 0 || this.#scheduled || this.#busy) return;
    if (this.#expected > 0 && this.#group.length < MAX_GROUP_RECORDS) {
      this.#wait ??= setTimeout(() => this.#close(), this.waitMs);
      return;
    }
    this.#close();
  }

  #close(): void {
    clearTimeout(this.#wait);
    this.#wait = undefined;
    if (this.#group.length === 0 || this.#scheduled || this.#busy) return;
    this.#scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every reply that arrived together joins.
    setImmediate(() => this.#commit());
  }

  #commit(): void {
    this.#scheduled = false;
    const group = this.#group.splice(0, MAX_GROUP_RECORDS);
    this.#busy = true;
    let written: Promise<R[]>;
    try {
      written = this.write(group.map((g) => g.item));
    } catch (e) {
      written = Promise.reject(e);
    }
    written
      .then(
        (results) => group.forEach((g, i) => g.resolve(results[i]!)),
        (e: unknown) => {
          for (const g of group) g.reject(e);
        },
      )
      .finally(() => {
        this.#busy = false;
        this.#schedule();
      });
  }
}
