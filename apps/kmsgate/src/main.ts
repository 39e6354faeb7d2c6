import { processIo } from '@kmsgate/core';
import { run } from './cli';

// The entry point of the `kmsgate` bin (tsx registered by bin/kmsgate.cjs).
void run(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
