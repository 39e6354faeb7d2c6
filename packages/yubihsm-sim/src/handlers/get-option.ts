// GET_OPTION.
import { Capability, GetOption } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';

export function getOption(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const { tag } = GetOption.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.GET_OPTION);
  return GetOption.encodeResponse({ value: ctx.device.settings.get(tag) });
}
