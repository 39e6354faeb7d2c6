// @kmsgate/tee-bridge: the board-side bridge daemon (and the protocol server tee-sim shares).
export { startBridgeServer, DEFAULT_MAX_OUTSTANDING, type BridgeServerOptions, type RunningBridgeServer, type BridgeStats } from './server';
export { FaultInjector, type FaultKind, type FaultSpec } from './faults';
export { TaError, CallTimeoutError, type TaExecutor, type TaCommand } from './ta-executor';
export { TaSession, DEFAULT_CALL_TIMEOUT_MS, type TaSessionOptions } from './ta-session';
export { TeecContext, TeecSession, uuidBytes, type TeecParam, type TeecOut, type TeecResult } from './libteec';
export { startTeeBridge, startHostBridge, TA_KEY_TYPES, TA_INSTALL_DIR, type TeeBridgeOptions, type RunningTeeBridge } from './daemon';
export { buildHostLibrary, hostBuildHash, hostTeeControls, HOST_LIBRARY, HOST_BUILD_DIR, type HostTeeControls } from './host';
export * from './ta-interface';
export { teeBridgeTool } from './cli';
