export * from './errors';
export * from './backend';
export * from './spki';
export * from './kms/key-specs';
