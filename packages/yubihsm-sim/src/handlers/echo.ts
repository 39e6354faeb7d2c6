// ECHO: answered in the clear and inside a session alike.
import { Echo } from '@kmsgate/yubihsm';

export function echo(payload: Uint8Array): Uint8Array {
  return Echo.encodeResponse(Echo.decodeRequest(payload));
}
