export { run } from './cli';
export type { CliContext, CliIo, CommandModule } from './context';
