// RESET_DEVICE: factory reset. Hardware reboots after answering, which ends every session.
import { Capability, ResetDevice } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';

export function resetDevice(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  ResetDevice.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.RESET_DEVICE);
  ctx.device.factoryReset();
  ctx.afterResponse(() => ctx.device.closeAllSessions());
  return ResetDevice.encodeResponse();
}
