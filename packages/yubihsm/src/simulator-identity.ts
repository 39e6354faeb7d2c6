/**
 * How kmsgate's yubihsm-sim names itself, so that a gateway with `production: true` can refuse it.
 * Hardware reports a chip designator on DEVICE_INFO page 1 (firmware ≥ 2.4) and yubihsm-connector
 * writes no `simulator=` line on /connector/status; the simulator does both, and nothing it says
 * can be mistaken for a real device.
 */
import type { ConnectorStatus } from './connector';

/** DEVICE_INFO page 1 of yubihsm-sim. No YubiHSM 2 part number contains "SIM" or "kmsgate". */
export const SIMULATOR_PART_NUMBER = 'KMSGATE-YUBIHSM-SIM';
/** The /connector/status key yubihsm-sim adds; libyubihsm's parser ignores keys it does not know. */
export const SIMULATOR_STATUS_KEY = 'simulator';
export const SIMULATOR_STATUS_VALUE = 'kmsgate-yubihsm-sim';

/** True for the device info of yubihsm-sim (the part number from DEVICE_INFO page 1). */
export function isSimulatedDevice(info: { partNumber?: string | undefined }): boolean {
  if (typeof info !== 'object' || info === null) throw new TypeError('info must be an object');
  return info.partNumber === SIMULATOR_PART_NUMBER;
}

/** True for the /connector/status of yubihsm-sim's connector front end. */
export function isSimulatedConnector(status: ConnectorStatus): boolean {
  if (typeof status !== 'object' || status === null) throw new TypeError('status must be an object');
  return status.fields[SIMULATOR_STATUS_KEY] !== undefined;
}
