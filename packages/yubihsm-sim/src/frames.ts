// Building response frames and turning thrown errors into device error codes.
import { DeviceError, DeviceErrorCode, frame, RESPONSE_ERROR, responseCode, WireError } from '@kmsgate/yubihsm';

export function successFrame(command: number, data: Uint8Array): Uint8Array {
  return frame(responseCode(command), data);
}

/** `7f 00 01 <code>`: the device's one error shape, in the clear or inside a session. */
export function errorFrame(code: number): Uint8Array {
  return frame(RESPONSE_ERROR, Uint8Array.of(code));
}

/**
 * The device error code for something a handler threw, or undefined for anything that is a bug
 * in the simulator rather than bad input (the caller logs it and still answers with an error).
 */
export function deviceCodeOf(err: unknown): number | undefined {
  if (err instanceof DeviceError) return err.code;
  if (err instanceof WireError) return err.deviceCode;
  return undefined;
}

/** What the device answers when the simulator itself failed: the input is the likeliest cause. */
export const FALLBACK_ERROR = DeviceErrorCode.INVALID_DATA;
