import { runTool } from '@kmsgate/core';
import { yubihsmSimTool } from './cli';

// The entry point of the `yubihsm-sim` bin (tsx registered by bin/yubihsm-sim.cjs).
void runTool(yubihsmSimTool, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
