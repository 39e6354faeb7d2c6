/**
 * Errors of the YubiHSM 2 client. Device errors carry Yubico's own numbering; host-side errors
 * (framing, MAC/cryptogram checks, transport) never appear on the wire.
 */

/**
 * Error codes the device sends after `0x7f 00 01`. Source: `translate_device_error` in
 * yubihsm-shell `lib/yubihsm.c` and `ERROR` in python-yubihsm `defs.py`, which agree.
 * yubihsm.rs numbers 0x0d–0x11 differently; that numbering is not Yubico's and is not used here.
 */
export const DeviceErrorCode = {
  OK: 0x00,
  INVALID_COMMAND: 0x01,
  INVALID_DATA: 0x02,
  INVALID_SESSION: 0x03,
  AUTHENTICATION_FAILED: 0x04,
  SESSIONS_FULL: 0x05,
  SESSION_FAILED: 0x06,
  STORAGE_FAILED: 0x07,
  WRONG_LENGTH: 0x08,
  INSUFFICIENT_PERMISSIONS: 0x09,
  LOG_FULL: 0x0a,
  OBJECT_NOT_FOUND: 0x0b,
  INVALID_ID: 0x0c,
  SSH_CA_CONSTRAINT_VIOLATION: 0x0e,
  INVALID_OTP: 0x0f,
  DEMO_MODE: 0x10,
  OBJECT_EXISTS: 0x11,
  ALGORITHM_DISABLED: 0x12,
  COMMAND_UNEXECUTED: 0xff,
} as const;

export type DeviceErrorName = keyof typeof DeviceErrorCode;

const DEVICE_ERROR_NAMES = new Map<number, DeviceErrorName>(Object.entries(DeviceErrorCode).map(([name, code]) => [code, name as DeviceErrorName]));

export function deviceErrorName(code: number): string {
  return DEVICE_ERROR_NAMES.get(code) ?? `UNKNOWN_0x${code.toString(16).padStart(2, '0')}`;
}

/** The device answered `7f 00 01 <code>`, either as a plaintext outer frame or inside a session. */
export class DeviceError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** The command the device rejected, when known. */
  readonly command: number | undefined;

  constructor(code: number, options?: { command?: number; message?: string }) {
    const codeName = deviceErrorName(code);
    const hex = `0x${code.toString(16).padStart(2, '0')}`;
    const cmd = options?.command === undefined ? '' : ` for command 0x${options.command.toString(16).padStart(2, '0')}`;
    super(options?.message ?? `YubiHSM 2 device error ${codeName} (${hex})${cmd}`);
    this.name = 'DeviceError';
    this.code = code;
    this.codeName = codeName;
    this.command = options?.command;
  }
}

export function isDeviceError(e: unknown, code?: number): e is DeviceError {
  return e instanceof DeviceError && (code === undefined || e.code === code);
}

/**
 * What went wrong on the host side of the protocol. `mac`, `cryptogram` and `session-id` mean the
 * peer could not prove it holds the session keys; `framing` and `padding` mean bytes were
 * malformed; `state` means the channel was used out of order; `log-chain` means audit log entries do not chain.
 */
export type ProtocolErrorKind = 'framing' | 'mac' | 'cryptogram' | 'session-id' | 'padding' | 'unexpected-response' | 'state' | 'log-chain';

export class ProtocolError extends Error {
  readonly kind: ProtocolErrorKind;

  constructor(kind: ProtocolErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtocolError';
    this.kind = kind;
  }
}

/**
 * The channel reached its per-session message cap. Nothing was sent; the caller opens a new
 * session and sends there.
 */
export class SessionLimitError extends ProtocolError {
  constructor(limit: number) {
    super('state', `SCP03 session reached its limit of ${limit} messages`);
    this.name = 'SessionLimitError';
  }
}

/**
 * `unreachable`: no TCP connection (the request never reached the connector).
 * `timeout`: no answer in time (the device may or may not have executed the command).
 * `reset`: the connection broke mid-request. `http-status`: the connector answered non-200.
 */
export type ConnectorErrorKind = 'unreachable' | 'timeout' | 'reset' | 'http-status';

export class ConnectorError extends Error {
  readonly kind: ConnectorErrorKind;
  /** Worth retrying later (or at once on a fresh session): the transport, not the request, failed. */
  readonly retryable: boolean;
  readonly httpStatus: number | undefined;

  constructor(kind: ConnectorErrorKind, message: string, options?: { retryable?: boolean; httpStatus?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.kind = kind;
    this.retryable = options?.retryable ?? kind !== 'http-status';
    this.httpStatus = options?.httpStatus;
  }
}

/**
 * A session reached a device other than the one expected, told apart by the serial the device
 * reported inside the session. Nothing was sent on it: an object ID means something only on the
 * device that holds the object.
 */
export class WrongDeviceError extends Error {
  readonly expectedSerial: number;
  readonly actualSerial: number;

  constructor(expectedSerial: number, actualSerial: number) {
    super(`expected YubiHSM 2 serial ${expectedSerial}, but the session is authenticated to serial ${actualSerial}`);
    this.name = 'WrongDeviceError';
    this.expectedSerial = expectedSerial;
    this.actualSerial = actualSerial;
  }
}
