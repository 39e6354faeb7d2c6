/**
 * `kmsgate yubihsm-sim …`, `kmsgate tee-sim …` and `kmsgate tee-bridge …`: the device simulators and
 * the board-side TEE bridge daemon as commands of kmsgate, with the same options, output and exit
 * codes as their own bins (`npx yubihsm-sim`, `npx tee-sim`, `npx tee-bridge`), which stay. Each
 * runs in the foreground until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { runTool, type ToolIo } from '@kmsgate/core';
import type { CliContext, CommandModule } from '../context';

type RunTool = (args: readonly string[], io: ToolIo) => Promise<number>;

/** A tool whose arguments (`--help` included) are all its own: commander passes them through untouched. */
function toolCommand(program: Command, { io, setExitCode }: CliContext, name: string, description: string, load: () => RunTool): void {
  program
    .command(name)
    .description(`${description}; \`kmsgate ${name} --help\``)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'its options')
    .action(async (args: string[]) => {
      setExitCode(await load()(args, io));
    });
}

// Loaded when run, not at the top: every other command would otherwise load both simulators.
/* eslint-disable @typescript-eslint/no-require-imports */
export const simulatorCommands: CommandModule = (program, ctx) => {
  toolCommand(program, ctx, 'yubihsm-sim', 'run the YubiHSM 2 simulator (the yubihsm-connector HTTP API)', () => {
    const { yubihsmSimTool } = require('@kmsgate/yubihsm-sim') as typeof import('@kmsgate/yubihsm-sim');
    return (args, io) => runTool(yubihsmSimTool, args, io);
  });
  toolCommand(program, ctx, 'tee-sim', 'run the simulated OP-TEE trusted application (the TEE bridge protocol on a Unix socket)', () => {
    const { teeSimTool } = require('@kmsgate/tee-sim') as typeof import('@kmsgate/tee-sim');
    return (args, io) => runTool(teeSimTool, args, io);
  });
  toolCommand(program, ctx, 'tee-bridge', "run the TEE bridge daemon (a board's libteec, or the host build of our TA) on a Unix socket", () => {
    const { teeBridgeTool } = require('@kmsgate/tee-bridge') as typeof import('@kmsgate/tee-bridge');
    return (args, io) => runTool(teeBridgeTool, args, io);
  });
};
/* eslint-enable @typescript-eslint/no-require-imports */
