// DEVICE_INFO: answered in the clear and inside a session alike. Firmware 2.4 has two pages;
// python-yubihsm reads page 1 as soon as it sees version 2.4.0.
import { DeviceError, DeviceErrorCode, DeviceInfo } from '@kmsgate/yubihsm';
import type { DeviceModel } from '../handler';
import { FIRMWARE, PART_NUMBER, SUPPORTED_ALGORITHMS } from '../device-profile';

export function deviceInfo(device: DeviceModel, payload: Uint8Array): Uint8Array {
  const page = DeviceInfo.decodePageRequest(payload);
  if (page === DeviceInfo.PART_NUMBER_PAGE) return DeviceInfo.encodePartNumberResponse(PART_NUMBER);
  if (page !== 0) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return DeviceInfo.encodeResponse({
    ...FIRMWARE,
    serial: device.serial,
    logTotal: device.log.capacity,
    logUsed: device.log.used,
    algorithms: [...SUPPORTED_ALGORITHMS],
  });
}
