/**
 * @kmsgate/store-pg: the shared store on PostgreSQL for more than one gateway (docs/scale-out.md).
 * So far the signing gates' state (PgPolicyState), keys, API keys, key rotation and import tokens
 * (the @kmsgate/store contracts), the audit log (one hash chain for every gateway: PgAuditLog), the change feed their views are kept current by, and kmsgate's own
 * versioned migrations.
 */
export * from './change-feed';
export * from './faults';
export * from './feed-view';
export * from './migrations';
export * from './open';
export * from './pg-audit-log';
export * from './pg-api-keys';
export * from './pg-device-logs';
export * from './pg-import-tokens';
export * from './pg-key-rotations';
export * from './pg-keys';
export * from './pg-policy-state';
