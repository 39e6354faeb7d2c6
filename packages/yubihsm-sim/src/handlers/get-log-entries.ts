// GET_LOG_ENTRIES: every entry not yet released by SET_LOG_INDEX, with the unlogged counters.
import { Capability, GetLogEntries } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';

export function getLogEntries(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  GetLogEntries.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.GET_LOG_ENTRIES);
  return GetLogEntries.encodeResponse(ctx.device.log.read());
}
