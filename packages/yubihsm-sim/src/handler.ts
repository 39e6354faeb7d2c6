// What a command handler sees. Handlers take the decoded payload of one command and return the
// response payload, or throw DeviceError; framing, encryption and error frames happen elsewhere.
import type { ObjectStore } from './object-store';
import type { Session } from './session-table';

/** The device state shared by all sessions. */
export interface DeviceModel {
  readonly store: ObjectStore;
  readonly serial: number;
  /**
   * Runs a change to the object store and saves it before the response goes out, so an answered
   * command is never lost on restart. If saving fails the change is undone and the command fails
   * with STORAGE_FAILED.
   */
  mutate<T>(change: () => T): T;
  /** Deletes every object and recreates the factory-default authentication key. */
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
