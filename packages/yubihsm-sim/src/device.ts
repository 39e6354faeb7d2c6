// The simulated YubiHSM 2: takes one request message, returns one response message, and never
// throws. Everything malformed, unauthenticated or unauthorised is answered with the device's own
// error code, as hardware would.
import { DeviceError, DeviceErrorCode, parseFrame } from '@kmsgate/yubihsm';
import { AuditLog, type LoggedCommand } from './audit-log';
import { NO_SESSION, runAudited } from './auditor';
import { defaultAuthKey } from './auth-keys';
import { DEFAULT_SERIAL, SUPPORTED_ALGORITHMS } from './device-profile';
import { type DeviceKey, deviceKeyFrom, newDeviceKey } from './device-key';
import { DeviceSettings } from './device-settings';
import { PLAIN_COMMANDS } from './dispatch';
import { deviceCodeOf, errorFrame, FALLBACK_ERROR, successFrame } from './frames';
import type { DeviceModel } from './handler';
import { OBJECT_CAPACITY, ObjectStore } from './object-store';
import { objectLength } from './object-types';
import { describe, logTargetsOfSetup, SESSION_SETUP_COMMANDS, type SessionHost } from './session-commands';
import { SESSION_TIMEOUT_MS, SessionTable } from './session-table';
import { loadState, type PersistedState, saveState } from './state';

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
  /**
   * Milliseconds clock for session timeouts and the audit log's tick; Date.now by default. Tests
   * pass a clock they move by hand instead of sleeping.
   */
  now?: () => number;
  /** Diagnostics (one line per event). Never receives message bytes or key material. */
  log?: (line: string) => void;
}

export class Device {
  readonly serial: number;
  readonly #store = new ObjectStore(OBJECT_CAPACITY, objectLength);
  readonly #log = new AuditLog();
  readonly #settings = new DeviceSettings(SUPPORTED_ALGORITHMS);
  readonly #now: () => number;
  readonly #deviceKey: DeviceKey;
  /** When the device last booted: the log's tick counts milliseconds from here. */
  #bootedAt: number;
  readonly #sessions: SessionTable;
  readonly #statePath: string | undefined;
  readonly #logLine: (line: string) => void;
  readonly #host: SessionHost;

  constructor(options: DeviceOptions = {}) {
    const { statePath, serial, sessionTimeoutMs = SESSION_TIMEOUT_MS, now = Date.now } = options;
    if (typeof now !== 'function') throw new TypeError('now must be a function');
    this.#now = now;
    this.#bootedAt = now();
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
    this.#logLine = options.log ?? (() => undefined);
    this.#sessions = new SessionTable(sessionTimeoutMs, now);

    const saved = statePath === undefined ? undefined : loadState(statePath);
    this.serial = serial ?? saved?.serial ?? DEFAULT_SERIAL;
    this.#deviceKey = saved?.devicePrivateKey === undefined ? newDeviceKey() : deviceKeyFrom(saved.devicePrivateKey);
    if (saved === undefined) {
      this.#resetState();
    } else {
      this.#store.restore(saved.store);
      this.#settings.restore(saved.settings);
      this.#log.restore(saved.log);
      this.#boot();
    }
    // Creates the file on first start, records a changed serial and the boot entry.
    this.#save();

    const model: DeviceModel = {
      store: this.#store,
      serial: this.serial,
      log: this.#log,
      settings: this.#settings,
      deviceKey: this.#deviceKey,
      mutate: (change) => this.#mutate(change),
      record: (entry) => this.#record({ ...entry, tick: this.#tick() }),
      recordUnloggedAuth: () => this.#record(undefined),
      factoryReset: () => this.#factoryReset(),
      closeSession: (id) => this.#sessions.close(id),
      closeAllSessions: () => this.#sessions.closeAll(),
    };
    this.#host = { model, sessions: this.#sessions, log: this.#logLine };
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
      const plain = PLAIN_COMMANDS.get(code);
      const targets = logTargetsOfSetup(this.#host, code, payload);
      return runAudited(this.#host.model, { command: code, payload, sessionKey: NO_SESSION, ...(targets && { targets }) }, () =>
        this.#answer(() => {
          if (setup !== undefined) return setup(this.#host, payload);
          if (plain === undefined) throw new DeviceError(DeviceErrorCode.INVALID_COMMAND);
          return successFrame(code, plain(this.#host.model, payload));
        }),
      );
    } catch (err) {
      const code = deviceCodeOf(err);
      if (code !== undefined) return errorFrame(code);
      this.#logLine(`internal error in command 0x${(command ?? 0).toString(16)}: ${describe(err)}`);
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

  /** A response frame for `run`'s result, or the error frame for what it threw. */
  #answer(run: () => Uint8Array): Uint8Array {
    try {
      return run();
    } catch (err) {
      const code = deviceCodeOf(err);
      if (code === undefined) throw err;
      return errorFrame(code);
    }
  }

  #mutate<T>(change: () => T): T {
    const before = this.#state();
    try {
      const result = change();
      this.#save();
      return result;
    } catch (err) {
      this.#store.restore(before.store);
      this.#settings.restore(before.settings);
      this.#log.restore(before.log);
      // Bad input found inside the change (a WireError too) keeps its own code.
      if (deviceCodeOf(err) !== undefined) throw err;
      this.#logLine(`state not saved, change undone: ${describe(err)}`);
      throw new DeviceError(DeviceErrorCode.STORAGE_FAILED);
    }
  }

  /**
   * Appends a log entry (undefined: counts an unlogged authentication). The command has already
   * been answered, so a failed save is only reported; the entry stays in memory.
   */
  #record(entry: LoggedCommand | undefined): void {
    if (entry === undefined) this.#log.countUnloggedAuth();
    else this.#log.append(entry);
    try {
      this.#save();
    } catch (err) {
      this.#logLine(`audit log not saved: ${describe(err)}`);
    }
  }

  #factoryReset(): void {
    this.#mutate(() => this.#resetState());
  }

  /** Factory state: the default authentication key, default options, a log holding the reset and boot entries. */
  #resetState(): void {
    this.#store.clear();
    this.#store.insert(defaultAuthKey());
    this.#settings.reset();
    this.#log.reset();
    this.#boot();
  }

  /** Power-on: the tick restarts and a boot entry is logged, or counted if force audit finds the log full. */
  #boot(): void {
    this.#bootedAt = this.#now();
    if (this.#settings.forceAudit && this.#log.full) this.#log.countUnloggedBoot();
    else this.#log.append(AuditLog.BOOT);
  }

  /** Milliseconds since boot as the 32-bit system tick. */
  #tick(): number {
    return Math.min(Math.max(this.#now() - this.#bootedAt, 0), 0xfffffffe);
  }

  #state(): PersistedState {
    return {
      serial: this.serial,
      devicePrivateKey: this.#deviceKey.privateKey,
      store: this.#store.snapshot(),
      settings: this.#settings.snapshot(),
      log: this.#log.snapshot(),
    };
  }

  #save(): void {
    if (this.#statePath === undefined) return;
    saveState(this.#statePath, this.#state());
  }
}
