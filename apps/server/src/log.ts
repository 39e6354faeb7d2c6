/**
 * One line per event on stderr: JSON (the default, for log shippers) or, with LOG_FORMAT=pretty,
 * `time LEVEL message key=value …` for people reading a terminal or journalctl. Callers pass only
 * fields that are safe to keep: never request bodies, headers, API keys, secrets or key material.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Default LOG_LEVEL, else info. */
  level?: string;
  format?: LogFormat;
  sink?: (line: string) => void;
}

export function createLogger({
  level = process.env.LOG_LEVEL ?? 'info',
  format = 'json',
  sink = (l) => process.stderr.write(l + '\n'),
}: LoggerOptions = {}): Logger {
  const min = ORDER[(level in ORDER ? level : 'info') as Level];
  const render = format === 'pretty' ? pretty : json;
  const emit =
    (lvl: Level) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[lvl] >= min) sink(render(new Date().toISOString(), lvl, msg, fields));
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** LOG_FORMAT's value, or an error message naming what is allowed. */
export function parseLogFormat(value: string | undefined): LogFormat | { error: string } {
  if (value === undefined || value === '') return 'json';
  return (LOG_FORMATS as readonly string[]).includes(value)
    ? (value as LogFormat)
    : { error: `LOG_FORMAT must be json or pretty, got ${JSON.stringify(value)}` };
}

function json(time: string, level: Level, msg: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ time, level, msg, ...fields });
}

/**
 * A value a person can read and a script can still split on spaces: bare when it is a plain word,
 * JSON otherwise (quoted strings, objects), so a newline or a control character inside never
 * breaks the line.
 */
function pretty(time: string, level: Level, msg: string, fields: Record<string, unknown>): string {
  const parts = [time, level.toUpperCase().padEnd(5), plain(msg)];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${value(v)}`);
  return parts.join(' ');
}

const BARE = /^[\w.:/@+,[\]()-]+$/;

function plain(text: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(text) ? JSON.stringify(text) : text;
}

function value(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

export const silentLogger: Logger = createLogger({ level: 'error', sink: () => undefined });
