export * from './repository';
export * from './keys';
export * from './api-keys';
export * from './key-rotations';
export * from './import-tokens';
export * from './device-logs';
export * from './gateway-store';
export * from './audit-log';
