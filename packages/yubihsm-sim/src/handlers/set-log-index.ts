// SET_LOG_INDEX: releases the log up to an entry. Yubico defines no capability of its own for it;
// the simulator asks for get-log-entries (whoever may read the log may mark it read).
import { Capability, SetLogIndex } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';

export function setLogIndex(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const { index } = SetLogIndex.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.GET_LOG_ENTRIES);
  ctx.device.mutate(() => ctx.device.log.release(index));
  return SetLogIndex.encodeResponse();
}
