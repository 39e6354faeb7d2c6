/**
 * What every standalone tool of ours shares (yubihsm-sim, tee-sim, tee-bridge): options parsed by
 * node:util's parseArgs, `--help`, a UsageError for a mistake the user can fix (exit 2, with the
 * usage), any other failure exit 1, and a service that runs until SIGINT or SIGTERM. `kmsgate
 * yubihsm-sim …` and `kmsgate tee-sim …` run the same tools as their own bins.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** node:util's option table (its type is not exported by name). */
type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A mistake in the arguments; printed with the usage, exit code 2. */
export class UsageError extends Error {}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

export interface Tool<O extends ParseArgsOptionsConfig> {
  /** The bin's name, the prefix of every line it writes. */
  readonly name: string;
  readonly usage: string;
  /** `help` (-h) is added to these. */
  readonly options: O;
  /** Runs the tool; resolves to the exit code. `log` writes `<name>: <line>` to stderr. */
  main(values: Values<O>, log: (line: string) => void): Promise<number>;
}

/** Declares a tool; the option types are inferred from `options`, so `main` gets typed values. */
export function defineTool<const O extends ParseArgsOptionsConfig>(tool: Tool<O>): Tool<O> {
  return tool;
}

export interface ToolIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_IO: ToolIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs `tool` on `argv` (without node and script path); resolves to the process exit code. */
export async function runTool<O extends ParseArgsOptionsConfig>(tool: Tool<O>, argv: readonly string[], io: ToolIo = PROCESS_IO): Promise<number> {
  let values: Values<O> & { help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { ...tool.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }) as { values: Values<O> & { help?: boolean } });
  } catch (err) {
    io.stderr(`${tool.name}: ${(err as Error).message}\n\n${tool.usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(tool.usage);
    return 0;
  }
  try {
    return await tool.main(values, (line) => io.stderr(`${tool.name}: ${line}\n`));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`${tool.name}: ${message}\n${err instanceof UsageError ? `\n${tool.usage}` : ''}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** An integer option within [min, max]; undefined when it was not given. */
export function intOption(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return Number(raw);
}

/** Resolves at the first SIGINT or SIGTERM (logged), for a service to close itself; a second signal is the default action again. */
export function untilStopSignal(log: (line: string) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log(`${signal}, closing`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Rows as columns padded to the widest cell, two spaces apart, one line each (the first row is the header). */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map(
      (row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}
