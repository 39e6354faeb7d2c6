import type { CommandName, ErrorBody } from './protocol';

/**
 * Why a bridge call failed, as the client sees it:
 * - `overload`: refused before sending, the client's queue is full (ThrottlingException);
 * - `timeout`: no answer within the call's deadline (DependencyTimeoutException);
 * - `unavailable`: no usable session: the socket cannot be reached, the handshake failed, the
 *   circuit breaker is open, or the connection broke with the call outstanding;
 * - `remote`: the daemon answered with an error (`remote` holds it, TEEC code and origin included);
 * - `protocol`: the daemon sent something the protocol does not allow (the connection is dropped).
 */
export type TeeBridgeErrorKind = 'overload' | 'timeout' | 'unavailable' | 'remote' | 'protocol';

export class TeeBridgeError extends Error {
  readonly kind: TeeBridgeErrorKind;
  readonly cmd: CommandName | undefined;
  /**
   * true when the command may have run in the TA even though no success reached the caller (it
   * was sent and then timed out, or the connection broke, or the daemon said so). Such a command
   * is never sent again by the client: a sign or generate must not happen twice.
   */
  readonly outcomeUnknown: boolean;
  readonly remote: ErrorBody | undefined;

  constructor(kind: TeeBridgeErrorKind, message: string, opts: { cmd?: CommandName; outcomeUnknown?: boolean; remote?: ErrorBody; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'TeeBridgeError';
    this.kind = kind;
    this.cmd = opts.cmd;
    this.outcomeUnknown = opts.outcomeUnknown ?? opts.remote?.outcomeUnknown ?? false;
    this.remote = opts.remote;
  }
}
