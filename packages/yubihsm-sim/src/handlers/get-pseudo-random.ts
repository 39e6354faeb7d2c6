// GET_PSEUDO_RANDOM.
import { randomBytes } from 'node:crypto';
import { Capability, DeviceError, DeviceErrorCode, GetPseudoRandom } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';
import { MAX_SESSION_RESPONSE_DATA } from '../session-limits';

export function getPseudoRandom(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const { length } = GetPseudoRandom.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.GET_PSEUDO_RANDOM);
  // The answer must fit in one encrypted response message.
  if (length > MAX_SESSION_RESPONSE_DATA) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  return GetPseudoRandom.encodeResponse({ bytes: new Uint8Array(randomBytes(length)) });
}
