// @kmsgate/tee-sim: a simulated OP-TEE trusted application behind the kmsgate TEE bridge protocol.
export { startTeeSimulator, DEFAULT_MAX_OUTSTANDING, type RunningTeeSimulator, type TeeSimulatorOptions, type SimStats } from './server';
export { FaultInjector, TaError, type FaultKind, type FaultSpec } from '@kmsgate/tee-bridge';
export { SimulatedTa, SIM_TA_UUID, SIM_TA_VERSION, SIM_MEASUREMENT, SIM_BUILD_HASH, DEFAULT_MAX_KEYS, type TaOptions } from './ta';
export { teeSimTool } from './cli';
