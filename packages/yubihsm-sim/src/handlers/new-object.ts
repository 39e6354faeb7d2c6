// Checks shared by every command that creates an object from the common object header.
import { DeviceError, DeviceErrorCode, type ObjectHeader } from '@kmsgate/yubihsm';

/** 0xFFFF is reserved (0 means "device chooses"); an object must live in at least one domain. */
export function checkNewObjectHeader(header: ObjectHeader): void {
  if (header.id === 0xffff) throw new DeviceError(DeviceErrorCode.INVALID_ID);
  if (header.domains === 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
}
