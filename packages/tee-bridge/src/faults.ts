// Fault injection for tests: what a board's bridge can do wrong, on demand and in-process.
import type { CommandName } from '@kmsgate/tee';

/**
 * - `delay`: the TA takes `ms` longer (it blocks the single TA session, as a slow call does on a
 *   board), then executes and answers — possibly after the client's deadline (a late answer).
 * - `busy`: the TA answers TEEC_ERROR_BUSY without executing.
 * - `targetDead`: the TA "panics": TEEC_ERROR_TARGET_DEAD, origin TEE, not executed (for a
 *   state-changing command the answer says outcomeUnknown, as a real panic mid-call would).
 * - `drop`: the TA executes, the answer is never sent (no answer).
 * - `disconnect`: the daemon closes the connection on receiving the request, before executing it.
 * - `garbage`: the answer is a frame that is not JSON (not executed).
 * - `oversized`: the answer announces a frame larger than the protocol allows (not executed).
 * - `truncated`: the answer stops mid-frame and the connection closes (not executed).
 * - `hold`: like `delay`, but until the test calls `release()`: a slow call whose end the test
 *   orders by an event, not by a timer (`holding` tells when a call is waiting).
 */
export type FaultKind = 'delay' | 'hold' | 'busy' | 'targetDead' | 'drop' | 'disconnect' | 'garbage' | 'oversized' | 'truncated';

export interface FaultSpec {
  kind: FaultKind;
  /** Commands it applies to; default every command but hello. */
  cmd?: CommandName | readonly CommandName[];
  /** `delay` only: extra milliseconds. */
  ms?: number;
  /** How many matching requests it affects (default 1; Infinity for all until cleared). */
  times?: number;
}

interface ArmedFault {
  spec: FaultSpec;
  remaining: number;
}

export class FaultInjector {
  #armed: ArmedFault[] = [];

  inject(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!(times >= 1)) throw new RangeError('times must be at least 1');
    if (spec.kind === 'delay' && !(Number.isFinite(spec.ms) && spec.ms! >= 0)) throw new RangeError('delay needs ms >= 0');
    this.#armed.push({ spec, remaining: times });
  }

  clear(): void {
    this.#armed = [];
  }

  #held: Array<() => void> = [];

  /** Calls waiting on a `hold` fault now. */
  get holding(): number {
    return this.#held.length;
  }

  /** Resolves when `release()` is called (for the TA executing a call under a `hold` fault). */
  hold(): Promise<void> {
    return new Promise((resolve) => {
      this.#held.push(resolve);
    });
  }

  /** Lets every held call go on. */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const go of held) go();
  }

  /** Faults still armed. */
  get pending(): number {
    return this.#armed.length;
  }

  /** The first armed fault matching this command, consumed once; undefined if none. */
  take(cmd: CommandName): FaultSpec | undefined {
    const i = this.#armed.findIndex(({ spec }) => {
      if (spec.cmd === undefined) return cmd !== 'hello';
      return typeof spec.cmd === 'string' ? spec.cmd === cmd : spec.cmd.includes(cmd);
    });
    if (i < 0) return undefined;
    const armed = this.#armed[i]!;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.#armed.splice(i, 1);
    return armed.spec;
  }
}
