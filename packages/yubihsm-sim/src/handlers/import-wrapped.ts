// IMPORT_WRAPPED: the inverse of EXPORT_WRAPPED. The object comes back with its ID, label,
// domains and capabilities, and its origin gains the imported-under-wrap flag.
import { Capability, decodeWrappedObject, DeviceError, DeviceErrorCode, GetObjectInfo, ImportWrapped } from '@kmsgate/yubihsm';
import { ccmOpen } from '../aes-ccm';
import type { SessionContext } from '../handler';
import { importBody } from '../object-body';
import { padLabel } from '../object-store';
import { isObjectType } from '../object-types';
import { ccmWrapKey } from '../wrap-keys';
import { checkNewObjectHeader } from './new-object';

export function importWrapped(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = ImportWrapped.decodeRequest(payload);
  const { authority } = ctx.session;
  const wrapKey = ccmWrapKey(ctx, req.wrapKeyId, Capability.IMPORT_WRAPPED);
  const plaintext = ccmOpen(wrapKey.secret, req);
  try {
    const o = decodeWrappedObject(plaintext);
    if (o.wrapAlgorithm !== wrapKey.algorithm || !isObjectType(o.type) || o.id === 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    checkNewObjectHeader(o);
    const material = importBody(o.type, o.algorithm, o.body);
    // The wrap key's delegated set bounds what comes in; the session's domains bound where it lands.
    const delegated = wrapKey.delegatedCapabilities;
    if ((o.capabilities & ~delegated) !== 0n || (material.delegatedCapabilities & ~delegated) !== 0n || (o.domains & ~authority.domains) !== 0) {
      throw new DeviceError(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    }
    const stored = ctx.device.mutate(() =>
      ctx.device.store.insert({
        id: o.id,
        type: o.type,
        algorithm: o.algorithm,
        label: padLabel(o.label),
        domains: o.domains,
        capabilities: o.capabilities,
        delegatedCapabilities: material.delegatedCapabilities,
        origin: o.origin | GetObjectInfo.Origin.IMPORTED_WRAPPED,
        secret: material.secret,
      }),
    );
    return ImportWrapped.encodeResponse({ type: stored.type, id: stored.id });
  } finally {
    plaintext.fill(0);
  }
}
