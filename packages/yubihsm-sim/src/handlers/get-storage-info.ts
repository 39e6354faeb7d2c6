// GET_STORAGE_INFO: records and pages, total and free. Needs no capability.
import { GetStorageInfo } from '@kmsgate/yubihsm';
import type { SessionContext } from '../handler';

export function getStorageInfo(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  GetStorageInfo.decodeRequest(payload);
  return GetStorageInfo.encodeResponse(ctx.device.store.usage());
}
