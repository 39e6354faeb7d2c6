// The algorithm toggles (SET_OPTION ALGORITHM_TOGGLE, firmware 2.2+) enforced for every command in
// one place: creating an object of a disabled algorithm is ALGORITHM_DISABLED. Algorithms can only
// be toggled on a fresh device, so no stored key can have a disabled algorithm unless it came in
// under wrap, whose inner algorithm this gate cannot see. Read from the request bytes, like the
// audit targets, so commands added to the dispatch table are covered with no work in their
// handlers. Per-operation algorithms (the hash an ECDSA signature is made over, MGF1, OAEP) are
// not gated.
import { Command, DeviceError, DeviceErrorCode, LABEL_LENGTH } from '@kmsgate/yubihsm';
import type { DeviceSettings } from './device-settings';

/** ID(2) || Label(40) || Domains(2) || Capabilities(8), then the algorithm byte. */
const HEADER_ALGORITHM_OFFSET = 2 + LABEL_LENGTH + 2 + 8;

/** Every command that starts with the common object header. */
const CREATES_OBJECT: ReadonlySet<number> = new Set([
  Command.PUT_OPAQUE,
  Command.PUT_AUTHENTICATION_KEY,
  Command.PUT_ASYMMETRIC_KEY,
  Command.GENERATE_ASYMMETRIC_KEY,
  Command.PUT_WRAP_KEY,
  Command.PUT_HMAC_KEY,
  Command.GENERATE_HMAC_KEY,
  Command.GENERATE_WRAP_KEY,
  Command.PUT_TEMPLATE,
  Command.PUT_OTP_AEAD_KEY,
  Command.GENERATE_OTP_AEAD_KEY,
  Command.PUT_SYMMETRIC_KEY,
  Command.GENERATE_SYMMETRIC_KEY,
  Command.PUT_PUBLIC_WRAP_KEY,
]);

export function checkAlgorithmEnabled(settings: DeviceSettings, command: number, payload: Uint8Array): void {
  if (!CREATES_OBJECT.has(command) || payload.length <= HEADER_ALGORITHM_OFFSET) return;
  if (!settings.isAlgorithmEnabled(payload[HEADER_ALGORITHM_OFFSET]!)) throw new DeviceError(DeviceErrorCode.ALGORITHM_DISABLED);
}
