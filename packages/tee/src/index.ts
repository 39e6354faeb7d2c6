// @kmsgate/tee: the TEE host-bridge client and the KeyBackend over it.
export * from './protocol';
export * from './teec';
export { encodeFrame, frameBytes, decodeJson, FrameDecoder, type DecodedFrame } from './frames';
export { TeeBridgeError, type TeeBridgeErrorKind } from './errors';
export { SYSTEM_CLOCK, type BridgeClock } from './clock';
export {
  TeeBridgeClient,
  type TeeBridgeClientOptions,
  type BreakerOptions,
  type BreakerState,
  type CallOptions,
  type ClientState,
  type ClientStats,
} from './client';
export { TeeBackend, KEY_SPEC_KEY_TYPE, type TeeBackendOptions, type TeeAttestation } from './backend';
