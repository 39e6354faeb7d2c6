// CLOSE_SESSION: the answer still travels under the session's keys, then the slot is freed.
import { CloseSession } from '@kmsgate/yubihsm';
import type { SessionContext } from '../handler';

export function closeSession(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  CloseSession.decodeRequest(payload);
  ctx.afterResponse(() => ctx.device.closeSession(ctx.session.id));
  return CloseSession.encodeResponse();
}
