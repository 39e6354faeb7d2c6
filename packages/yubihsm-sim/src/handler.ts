// What a command handler sees. Handlers take the decoded payload of one command and return the
// response payload, or throw DeviceError; framing, encryption and error frames happen elsewhere.
import type { AuditLog, LoggedCommand } from './audit-log';
import type { DeviceKey } from './device-key';
import type { DeviceSettings } from './device-settings';
import type { ObjectStore } from './object-store';
import type { Session } from './session-table';

/** The device state shared by all sessions. */
export interface DeviceModel {
  readonly store: ObjectStore;
  readonly serial: number;
  /** Read it freely; change it only inside mutate() or through record(). */
  readonly log: AuditLog;
  readonly settings: DeviceSettings;
  /** The static key of asymmetric session authentication; survives a factory reset. */
  readonly deviceKey: DeviceKey;
  /**
   * Runs a change to the object store, the options or the log and saves it before the response
   * goes out, so an answered command is never lost on restart. If saving fails the change is
   * undone and the command fails with STORAGE_FAILED.
   */
  mutate<T>(change: () => T): T;
  /** Appends one entry to the audit log, stamped with the device tick, and saves. */
  record(entry: Omit<LoggedCommand, 'tick'>): void;
  /** Counts a session authentication that force audit could not log. */
  recordUnloggedAuth(): void;
  /**
   * Deletes every object, recreates the factory-default authentication key, restores the default
   * options and starts a new audit log with the reset and boot entries.
   */
  factoryReset(): void;
  /** Frees one session slot (CLOSE_SESSION, after its response has been wrapped). */
  closeSession(sessionId: number): void;
  /** Closes every session (RESET_DEVICE, after its response has been wrapped). */
  closeAllSessions(): void;
}

/** A command inside an authenticated session. */
export interface SessionContext {
  readonly device: DeviceModel;
  readonly session: Session;
  /** Runs once the response has been encrypted with this session's keys (close, reset). */
  afterResponse(action: () => void): void;
}

export type SessionHandler = (ctx: SessionContext, payload: Uint8Array) => Uint8Array;

/** A command the device answers without a session (ECHO, DEVICE_INFO). */
export type PlainHandler = (device: DeviceModel, payload: Uint8Array) => Uint8Array;
