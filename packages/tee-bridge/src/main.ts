import { runTool } from '@kmsgate/core';
import { teeBridgeTool } from './cli';

// The entry point of the `tee-bridge` bin (tsx registered by bin/tee-bridge.cjs).
void runTool(teeBridgeTool, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
