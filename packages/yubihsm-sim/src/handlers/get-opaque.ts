// GET_OPAQUE: an opaque object's data; id 0 is the device's attestation certificate.
import { Capability, GetOpaque, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability } from '../access';
import { DEVICE_ATTESTATION_ID, deviceAttestation } from '../attestation';
import type { SessionContext } from '../handler';

export function getOpaque(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GetOpaque.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.GET_OPAQUE);
  if (req.id === DEVICE_ATTESTATION_ID) return GetOpaque.encodeResponse({ data: deviceAttestation(ctx.device.serial).certificate });
  const object = findVisible(ctx.device.store, authority, ObjectType.OPAQUE, req.id);
  return GetOpaque.encodeResponse({ data: object.secret });
}
