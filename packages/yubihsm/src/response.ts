import { RESPONSE_ERROR, commandName, responseCode } from './codes';
import { DeviceError, ProtocolError } from './errors';
import { WireReader, parseFrame } from './wire';

/**
 * The payload of a response to `command`: the device's `7f 00 01 XX` becomes DeviceError, any
 * other code than `command | 0x80` a ProtocolError (a reply paired with the wrong request).
 */
export function responsePayload(response: Uint8Array, command: number): Uint8Array {
  const { code, payload } = parseFrame(response);
  if (code === RESPONSE_ERROR) {
    const r = new WireReader(payload);
    const errorCode = r.u8();
    r.end();
    throw new DeviceError(errorCode, { command });
  }
  if (code !== responseCode(command)) {
    throw new ProtocolError(
      'unexpected-response',
      `expected the response to ${commandName(command)} (0x${responseCode(command).toString(16)}), got 0x${code.toString(16).padStart(2, '0')}`,
    );
  }
  return payload;
}
