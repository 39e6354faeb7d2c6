/**
 * `npm run build`: compiles every workspace's src/ to JavaScript in its own dist/, with tsc's
 * compiler API over tsconfig.build.json (one program, so each file is parsed once). Type errors
 * are `npm run typecheck`'s business; this reports only what stops emitting (syntax, options).
 *
 * Each workspace's package.json `exports` sends the `kmsgate-built` condition to dist/ and every
 * other resolver (tsx, jest, tsc) to src/, so built code runs with
 * `node --conditions=kmsgate-built apps/kmsgate/dist/main.js serve` and nothing else changes.
 */
import { rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..');

function main(): number {
  const configPath = join(ROOT, 'tsconfig.build.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) return report([read.error]);
  const config = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  if (config.errors.length > 0) return report(config.errors);

  const workspaces = new Set(config.fileNames.map(workspaceOf));
  for (const ws of workspaces) rmSync(join(ROOT, ws, 'dist'), { recursive: true, force: true });

  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const blocking = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics()];
  if (blocking.length > 0) return report(blocking);
  let files = 0;
  const emitted = program.emit(undefined, (fileName, text, bom) => {
    ts.sys.writeFile(toDist(fileName), text, bom);
    files++;
  });
  if (emitted.emitSkipped) return report(emitted.diagnostics);
  process.stdout.write(`built ${files} files into the dist/ of ${workspaces.size} workspaces\n`);
  return 0;
}

/** `packages/store` for `<root>/packages/store/src/db.ts`. */
function workspaceOf(file: string): string {
  return relative(ROOT, file).split(sep).slice(0, 2).join('/');
}

/** tsc writes `<outDir>/<workspace>/src/x.js`; each workspace's output belongs in `<workspace>/dist/x.js`. */
function toDist(fileName: string): string {
  const parts = relative(join(ROOT, '.build'), fileName).split(sep);
  if (parts[2] !== 'src') throw new Error(`unexpected output path ${fileName}`);
  return join(ROOT, parts[0]!, parts[1]!, 'dist', ...parts.slice(3));
}

function report(diagnostics: readonly ts.Diagnostic[]): number {
  process.stderr.write(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }));
  return 1;
}

process.exitCode = main();
