export { run, type CliIo } from './cli';
