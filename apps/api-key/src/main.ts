import { processIo } from '@kmsgate/core';
import { run } from './cli';

// The entry point of both `npm run api-key` (tsx) and the `api-key` bin (tsx registered by bin/api-key.cjs).
void run(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
