import { run } from './cli';

// The entry point of the `kmsgate` bin (tsx registered by bin/kmsgate.cjs).
void run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
