// The simulated YubiHSM 2: takes one request message, returns one response message, and never
// throws. Everything malformed, unauthenticated or unauthorised is answered with the device's own
// error code, as hardware would.
import { DeviceError, DeviceErrorCode, parseFrame } from '@kmsgate/yubihsm';
import { defaultAuthKey } from './auth-keys';
import { DEFAULT_SERIAL } from './device-profile';
import { PLAIN_COMMANDS } from './dispatch';
import { deviceCodeOf, errorFrame, FALLBACK_ERROR, successFrame } from './frames';
import type { DeviceModel } from './handler';
import { ObjectStore } from './object-store';
import { describe, SESSION_SETUP_COMMANDS, type SessionHost } from './session-commands';
import { SESSION_TIMEOUT_MS, SessionTable } from './session-table';
import { loadState, saveState } from './state';

export interface DeviceOptions {
  /**
   * JSON file to keep objects in across restarts (PRIVATE KEYS IN THE CLEAR; see state.ts).
   * Without it the device lives in memory only.
   */
  statePath?: string;
  /** Serial number; defaults to the one in the state file, else 1234567. */
  serial?: number;
  /** Session inactivity timeout; hardware uses 30 s. Lower it in tests. */
  sessionTimeoutMs?: number;
  /** The clock session inactivity is measured with (milliseconds); tests move it instead of waiting. */
  now?: () => number;
  /** Diagnostics (one line per event). Never receives message bytes or key material. */
  log?: (line: string) => void;
}

export class Device {
  readonly serial: number;
  readonly #store = new ObjectStore();
  readonly #sessions: SessionTable;
  readonly #statePath: string | undefined;
  readonly #log: (line: string) => void;
  readonly #host: SessionHost;

  constructor(options: DeviceOptions = {}) {
    const { statePath, serial, sessionTimeoutMs = SESSION_TIMEOUT_MS } = options;
    if (serial !== undefined && (!Number.isInteger(serial) || serial < 0 || serial > 0xffffffff)) {
      throw new RangeError('serial must be an integer in 0..4294967295');
    }
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs <= 0) {
      throw new RangeError('sessionTimeoutMs must be a positive integer');
    }
    if (statePath !== undefined && (typeof statePath !== 'string' || statePath === '')) {
      throw new TypeError('statePath must be a non-empty string');
    }
    this.#statePath = statePath;
    this.#log = options.log ?? (() => undefined);
    this.#sessions = new SessionTable(sessionTimeoutMs, options.now);

    const saved = statePath === undefined ? undefined : loadState(statePath);
    if (saved === undefined) {
      this.#store.insert(defaultAuthKey());
    } else {
      this.#store.restore(saved.store);
    }
    this.serial = serial ?? saved?.serial ?? DEFAULT_SERIAL;
    // Creates the file on first start and records a changed serial.
    if (statePath !== undefined && (saved === undefined || saved.serial !== this.serial)) this.#save();

    const model: DeviceModel = {
      store: this.#store,
      serial: this.serial,
      mutate: (change) => this.#mutate(change),
      factoryReset: () => this.#factoryReset(),
      closeSession: (id) => this.#sessions.close(id),
      closeAllSessions: () => this.#sessions.closeAll(),
    };
    this.#host = { model, sessions: this.#sessions, log: this.#log };
  }

  /**
   * One request message in, one response message out. Whatever the bytes, the answer is a device
   * response; only a non-Uint8Array argument (a programming error, not device input) throws.
   */
  handle(request: Uint8Array): Uint8Array {
    if (!(request instanceof Uint8Array)) throw new TypeError('request must be a Uint8Array');
    let command: number | undefined;
    try {
      const { code, payload } = parseFrame(request);
      command = code;
      const setup = SESSION_SETUP_COMMANDS.get(code);
      if (setup !== undefined) return setup(this.#host, payload);
      const plain = PLAIN_COMMANDS.get(code);
      if (plain === undefined) throw new DeviceError(DeviceErrorCode.INVALID_COMMAND);
      return successFrame(code, plain(this.#host.model, payload));
    } catch (err) {
      const code = deviceCodeOf(err);
      if (code !== undefined) return errorFrame(code);
      this.#log(`internal error in command 0x${(command ?? 0).toString(16)}: ${describe(err)}`);
      return errorFrame(FALLBACK_ERROR);
    }
  }

  /** Live sessions (expired ones are not counted). */
  sessionCount(): number {
    return this.#sessions.count();
  }

  /** Objects in storage, the default authentication key included. */
  objectCount(): number {
    return this.#store.size;
  }

  /** Ends every session and zeroes its keys. State is already on disk after each change. */
  shutdown(): void {
    this.#sessions.closeAll();
  }

  #mutate<T>(change: () => T): T {
    const before = this.#store.snapshot();
    try {
      const result = change();
      this.#save();
      return result;
    } catch (err) {
      this.#store.restore(before);
      if (err instanceof DeviceError) throw err;
      this.#log(`state not saved, change undone: ${describe(err)}`);
      throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
    }
  }

  #factoryReset(): void {
    this.#mutate(() => {
      this.#store.clear();
      this.#store.insert(defaultAuthKey());
    });
  }

  #save(): void {
    if (this.#statePath === undefined) return;
    saveState(this.#statePath, { serial: this.serial, store: this.#store.snapshot() });
  }
}
