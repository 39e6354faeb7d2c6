/**
 * @kmsgate/store-pg: the shared store on PostgreSQL for more than one gateway (docs/scale-out.md):
 * `openPgGatewayStore`, the whole GatewayStore on one pool and one change feed; its parts, each an
 * @kmsgate/store contract (keys, API keys, key rotation, import tokens, the device-log witness's
 * state, the audit log as one hash chain for every gateway, the signing gates' state); the change
 * feed their views are kept current by; the credential.key check; kmsgate's own versioned
 * migrations.
 */
export * from './change-feed';
export * from './credential-key';
export * from './faults';
export * from './feed-view';
export * from './migrations';
export * from './open';
export * from './pg-audit-log';
export * from './pg-api-keys';
export * from './pg-device-logs';
export * from './pg-gateway-store';
export * from './pg-import-tokens';
export * from './pg-key-rotations';
export * from './pg-keys';
export * from './pg-policy-state';
