// SET_OPTION: force audit, command audit and the algorithm toggles (device-settings.ts).
import { Capability, DEFAULT_AUTH_KEY_ID, ObjectType, SetOption } from '@kmsgate/yubihsm';
import { requireCapability } from '../access';
import type { SessionContext } from '../handler';

export function setOption(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const { tag, value } = SetOption.decodeRequest(payload);
  requireCapability(ctx.session.authority, Capability.SET_OPTION);
  const { store, settings } = ctx.device;
  // Algorithms may only be toggled before anything but the factory authentication key exists.
  const fresh = store.all().every((o) => o.type === ObjectType.AUTHENTICATION_KEY && o.id === DEFAULT_AUTH_KEY_ID);
  ctx.device.mutate(() => settings.set(tag, value, fresh));
  return SetOption.encodeResponse();
}
