// @kmsgate/yubihsm-sim: a YubiHSM 2 simulator behind the yubihsm-connector HTTP API.
export { startSimulator, type RunningSimulator, type SimulatorOptions } from './server';
export { Device, type DeviceOptions } from './device';
export { DEFAULT_SERIAL, FIRMWARE, PART_NUMBER, SUPPORTED_ALGORITHMS } from './device-profile';
export { MAX_SESSIONS, SESSION_TIMEOUT_MS } from './session-table';
export { OBJECT_CAPACITY } from './object-store';
export { simulatorAttestationRoot } from './attestation';
export { yubihsmSimTool } from './cli';
