export * from './db';
export * from './keys';
export * from './credential-seal';
export * from './api-keys';
export * from './audit';
export * from './policy-state';
export * from './hsm-log';
export * from './import-tokens';
