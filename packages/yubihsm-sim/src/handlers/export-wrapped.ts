// EXPORT_WRAPPED: any object marked exportable-under-wrap, encrypted under an AES-CCM wrap key in
// the layout hardware uses (wrapped-object.ts, object-body.ts), so a blob made here imports on a
// device holding the same wrap key and the other way round.
import { Capability, DeviceError, DeviceErrorCode, encodeWrappedObject, ExportWrapped } from '@kmsgate/yubihsm';
import { findVisible } from '../access';
import { ccmSeal } from '../aes-ccm';
import type { SessionContext } from '../handler';
import { exportBody } from '../object-body';
import { isObjectType } from '../object-types';
import { ccmWrapKey } from '../wrap-keys';

const FORMATS: ReadonlySet<number> = new Set(Object.values(ExportWrapped.ExportFormat));

export function exportWrapped(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = ExportWrapped.decodeRequest(payload);
  const format = req.format ?? ExportWrapped.ExportFormat.LEGACY;
  if (!FORMATS.has(format) || !isObjectType(req.type)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const wrapKey = ccmWrapKey(ctx, req.wrapKeyId, Capability.EXPORT_WRAPPED);
  const object = findVisible(ctx.device.store, ctx.session.authority, req.type, req.id);
  requireExportable(wrapKey.delegatedCapabilities, wrapKey.domains, object);
  const plaintext = encodeWrappedObject({
    wrapAlgorithm: wrapKey.algorithm,
    capabilities: object.capabilities,
    id: object.id,
    domains: object.domains,
    type: object.type,
    algorithm: object.algorithm,
    sequence: object.sequence,
    origin: object.origin,
    label: object.label,
    body: exportBody(object, format === ExportWrapped.ExportFormat.WITH_ED25519_SEED),
  });
  try {
    return ExportWrapped.encodeResponse(ccmSeal(wrapKey.secret, plaintext));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * The object must be marked exportable-under-wrap, share a domain with the wrap key, and carry no
 * capability (nor delegated capability) outside the wrap key's delegated set (Yubico Backup and
 * Restore and Capability pages; python-yubihsm `test_import_wrap_permissions`).
 */
function requireExportable(delegated: bigint, domains: number, object: { capabilities: bigint; delegatedCapabilities: bigint; domains: number }): void {
  if (
    (object.capabilities & Capability.EXPORTABLE_UNDER_WRAP) === 0n ||
    (object.capabilities & ~delegated) !== 0n ||
    (object.delegatedCapabilities & ~delegated) !== 0n ||
    (object.domains & domains) === 0
  ) {
    throw new DeviceError(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  }
}
