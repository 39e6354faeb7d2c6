// Looking up the wrap key a command names, with the checks every wrap command makes in the same order.
import { DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability } from './access';
import { FIRMWARE } from './device-profile';
import type { SessionContext } from './handler';
import type { StoredObject } from './object-store';
import { CCM_WRAP_KEY_LENGTH } from './symmetric-specs';

/**
 * An AES-CCM wrap key the session may use for `capability`: the auth key must hold it, the wrap
 * key must be visible, be an AES key (an RSA wrap key only imports under RSA wrap: INVALID_DATA, as
 * python-yubihsm's `test_export_using_private_wrapkey` expects), and hold the capability too, or
 * the command fails with `missing`.
 */
export function ccmWrapKey(ctx: SessionContext, id: number, capability: bigint, missing: number = DeviceErrorCode.INSUFFICIENT_PERMISSIONS): StoredObject {
  const { authority } = ctx.session;
  requireCapability(authority, capability);
  const key = findVisible(ctx.device.store, authority, ObjectType.WRAP_KEY, id);
  if (!CCM_WRAP_KEY_LENGTH.has(key.algorithm)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  if ((key.capabilities & capability) !== capability) throw new DeviceError(missing);
  return key;
}

/**
 * A wrap key without wrap-data / unwrap-data: firmware before 2.5 answers INVALID_DATA, 2.5 and
 * later INSUFFICIENT_PERMISSIONS (python-yubihsm `test_wrap_data_many`).
 */
export const DATA_CAPABILITY_ERROR =
  FIRMWARE.major > 2 || (FIRMWARE.major === 2 && FIRMWARE.minor >= 5) ? DeviceErrorCode.INSUFFICIENT_PERMISSIONS : DeviceErrorCode.INVALID_DATA;
