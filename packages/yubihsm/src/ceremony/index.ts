export * from './mnemonic';
export * from './layout';
export * from './backup-file';
export * from './sessions';
export * from './reconcile';
export * from './setup';
export * from './device-log';
