/**
 * Several YubiHSM 2 devices that hold the same keys (restored from one wrapped backup) behind one
 * backend. Each device has its own client (connector, session pool) pinned to its configured
 * serial, so a session to any other device is refused before a command reaches it. Work goes to
 * the device with the fewest commands in flight, and moves to the next device when one fails in a
 * way another device may not (it is down, or does not hold the key).
 */
import { assertInt } from './check';
import { Command } from './codes';
import { ConnectorError, DeviceError, DeviceErrorCode, ProtocolError, WrongDeviceError } from './errors';
import { YubiHsmClient, type YubiHsmClientOptions } from './client';

/**
 * A device that failed at the transport is tried again only after this long, unless every other
 * device has failed too; the next request then finds out whether it is back.
 */
export const DEFAULT_DEVICE_RETRY_AFTER_MS = 5_000;

/** Why a command on one device was abandoned for another. */
export type FailoverReason =
  /** The command cannot have run there: no connection, no session, another device, or the device lacks the key. */
  | 'not-executed'
  /** It may have run (timeout, connection lost mid-reply, bad response MAC): a sign may be on that device's log without a signature returned. */
  | 'ambiguous';

export interface FailoverEvent {
  /** Configured serial of the device that failed. */
  serial: number | undefined;
  operation: string;
  objectId?: number;
  reason: FailoverReason;
  /** A short description of the failure; never a secret. */
  error: string;
}

/** One device of the pool and what the pool knows about it. */
export class PoolDevice {
  readonly client: YubiHsmClient;
  /** As configured; undefined only for a single device configured without one. */
  readonly serial: number | undefined;
  inFlight = 0;
  /** When it last failed at the transport or session level; undefined while it works. */
  failedAt: number | undefined;
  /** Object ID → the SPKI it was checked to hold on this device. */
  readonly verified = new Map<number, Uint8Array>();

  constructor(options: YubiHsmClientOptions) {
    this.client = new YubiHsmClient(options);
    this.serial = options.serial;
  }
}

/**
 * The error a device gave, classified for failover: undefined when every device would answer the
 * same (bad input, missing permission), so the error belongs to the caller.
 */
export function failoverReason(e: unknown): FailoverReason | undefined {
  if (e instanceof KeyMismatchError || e instanceof WrongDeviceError) return 'not-executed';
  // Unreachable: no connection. A 4xx: the connector refused the request before the device saw it.
  if (e instanceof ConnectorError) return e.kind === 'unreachable' || (e.httpStatus !== undefined && e.httpStatus < 500) ? 'not-executed' : 'ambiguous';
  if (e instanceof DeviceError) {
    if (sessionRefusal(e) || e.code === DeviceErrorCode.SESSIONS_FULL || e.code === DeviceErrorCode.OBJECT_NOT_FOUND) return 'not-executed';
    return undefined;
  }
  if (e instanceof ProtocolError) return e.kind === 'cryptogram' ? 'not-executed' : e.kind === 'state' ? undefined : 'ambiguous';
  return undefined;
}

/** A device holds, under the key's object ID, a key other than the one recorded. */
export class KeyMismatchError extends Error {
  readonly serial: number | undefined;
  readonly objectId: number;

  constructor(serial: number | undefined, objectId: number) {
    super(`YubiHSM 2 serial ${serial} holds another key under object ID ${objectId}`);
    this.name = 'KeyMismatchError';
    this.serial = serial;
    this.objectId = objectId;
  }
}

export interface DevicePoolOptions {
  devices: readonly YubiHsmClientOptions[];
  retryAfterMs?: number;
  now?: () => number;
  onFailover?: (event: FailoverEvent) => void;
  /**
   * A device with force audit on refused a command, unrun, because its log is full (LOG_FULL).
   * Resolves once the log was read and released (the gateway's device-log witness); the command is
   * then tried once more on the same device. Without it, LOG_FULL is the caller's error.
   */
  onLogFull?: (serial: number | undefined) => Promise<void>;
}

export interface DevicePoolStats {
  /** Commands moved to another device after a failure. */
  failovers: number;
  /** Of those, the ones whose failed attempt may have run on the device. */
  ambiguousFailovers: number;
}

export class DevicePool {
  readonly devices: readonly PoolDevice[];
  readonly retryAfterMs: number;
  readonly #now: () => number;
  readonly #onFailover: ((event: FailoverEvent) => void) | undefined;
  readonly #onLogFull: ((serial: number | undefined) => Promise<void>) | undefined;
  readonly #stats: DevicePoolStats = { failovers: 0, ambiguousFailovers: 0 };
  /** Breaks ties between equally busy devices, so idle devices take turns. */
  #turn = 0;

  constructor(options: DevicePoolOptions) {
    if (options.devices.length === 0) throw new RangeError('a device pool needs at least one device');
    const retryAfterMs = options.retryAfterMs ?? DEFAULT_DEVICE_RETRY_AFTER_MS;
    assertInt('retryAfterMs', retryAfterMs, 0, 3_600_000);
    const created: PoolDevice[] = [];
    try {
      for (const d of options.devices) created.push(new PoolDevice(d));
    } catch (e) {
      for (const d of created) void d.client.close();
      throw e;
    }
    this.devices = created;
    this.retryAfterMs = retryAfterMs;
    this.#now = options.now ?? Date.now;
    this.#onFailover = options.onFailover;
    this.#onLogFull = options.onLogFull;
  }

  /**
   * The devices to try, best first: working (or failed long enough ago to probe) ones by fewest
   * commands in flight, then recently failed ones, least recent failure first, as a last resort.
   */
  order(devices: readonly PoolDevice[] = this.devices): PoolDevice[] {
    const now = this.#now();
    const turn = this.#turn++;
    const n = devices.length;
    const rank = devices.map((d, i) => ({ d, rotated: (i - (turn % n) + n) % n }));
    const ready = rank.filter(({ d }) => d.failedAt === undefined || now - d.failedAt >= this.retryAfterMs);
    const resting = rank.filter(({ d }) => d.failedAt !== undefined && now - d.failedAt < this.retryAfterMs);
    ready.sort((a, b) => a.d.inFlight - b.d.inFlight || a.rotated - b.rotated);
    resting.sort((a, b) => a.d.failedAt! - b.d.failedAt!);
    return [...ready, ...resting].map(({ d }) => d);
  }

  /**
   * Runs `op` on one device after another until one succeeds. A failure that another device may
   * not share (failoverReason) moves to the next; any other is thrown at once. When every device
   * failed, the first device's error is thrown: it is the one the caller would have seen first.
   */
  async run<T>(operation: string, op: (device: PoolDevice) => Promise<T>, options: { objectId?: number; devices?: readonly PoolDevice[] } = {}): Promise<T> {
    const candidates = this.order(options.devices);
    let first: unknown;
    for (const [i, device] of candidates.entries()) {
      device.inFlight++;
      try {
        const result = await this.#once(op, device);
        device.failedAt = undefined;
        return result;
      } catch (e) {
        const reason = failoverReason(e);
        if (reason === undefined) throw e;
        first ??= e;
        if (deviceLevel(e)) device.failedAt = this.#now();
        if (i + 1 < candidates.length) {
          this.#stats.failovers++;
          if (reason === 'ambiguous') this.#stats.ambiguousFailovers++;
          this.#onFailover?.({ serial: device.serial, operation, objectId: options.objectId, reason, error: describeFailure(e) });
        }
      } finally {
        device.inFlight--;
      }
    }
    throw first;
  }

  /** `op` on `device`, again once after the device's full log was released (LOG_FULL means the command did not run). */
  async #once<T>(op: (device: PoolDevice) => Promise<T>, device: PoolDevice): Promise<T> {
    try {
      return await op(device);
    } catch (e) {
      if (!(e instanceof DeviceError && e.code === DeviceErrorCode.LOG_FULL) || this.#onLogFull === undefined) throw e;
      await this.#onLogFull(device.serial);
      return op(device);
    }
  }

  stats(): DevicePoolStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.client.close()));
  }
}

/** Refused at session set-up, or the outer frame refused: the command never ran. */
function sessionRefusal(e: DeviceError): boolean {
  return e.command === Command.CREATE_SESSION || e.command === Command.AUTHENTICATE_SESSION || e.command === Command.SESSION_MESSAGE;
}

/** A failure of the device or the way to it, rather than of one key on it. */
function deviceLevel(e: unknown): boolean {
  if (e instanceof KeyMismatchError) return false;
  return !(e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND && !sessionRefusal(e));
}

/** A few words for logs and /health; never a secret (errors here carry none). */
export function describeFailure(e: unknown): string {
  if (e instanceof ConnectorError) return `connector ${e.kind}`;
  if (e instanceof DeviceError) return e.codeName;
  if (e instanceof ProtocolError) return `protocol ${e.kind}`;
  if (e instanceof WrongDeviceError) return 'wrong device serial';
  if (e instanceof KeyMismatchError) return 'holds another key';
  return 'error';
}
