import { runTool } from '@kmsgate/core';
import { teeSimTool } from './cli';

// The entry point of the `tee-sim` bin (tsx registered by bin/tee-sim.cjs).
void runTool(teeSimTool, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
