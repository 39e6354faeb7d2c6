export * from './db';
export * from './keys';
