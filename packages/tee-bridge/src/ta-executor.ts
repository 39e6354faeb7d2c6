// What the bridge server runs commands on: a TA session, simulated (tee-sim) or through libteec.
import type { CommandName, ParsedPayload, Result } from '@kmsgate/tee';

export type TaCommand = Exclude<CommandName, 'hello'>;

export interface TaExecutor {
  /** Runs one command on the TA; the server never calls it again before this settles. */
  invoke<C extends TaCommand>(cmd: C, payload: ParsedPayload<C>): Promise<Result<C>>;
}

/** A TEEC result other than TEEC_SUCCESS, as libteec or the TA returned it. */
export class TaError extends Error {
  constructor(
    readonly teec: number,
    readonly origin: number,
    message: string,
    readonly outcomeUnknown = false,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'TaError';
  }
}

/** A TA call that started and had not returned when the daemon's call timeout fired. */
export class CallTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallTimeoutError';
  }
}
