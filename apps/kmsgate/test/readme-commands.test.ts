import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from '../src/cli';

/**
 * Every kmsgate and api-key command the README names exists, with the options it shows: asked for
 * its help, each answers with a usage line for that command path and lists those options. (The
 * quick start's commands also run for real in apps/server/test/readme-examples.test.ts.)
 */
const README = readFileSync(join(resolve(__dirname, '..', '..', '..'), 'README.md'), 'utf8');

/** The argument words of each command the README shows, as `kmsgate` takes them (`api-key …` is `kmsgate api-key …`, `npx yubihsm-sim …` is `kmsgate yubihsm-sim …`). */
function readmeCommands(): string[][] {
  const found = new Map<string, string[]>();
  // An inline code span may wrap onto the next line; a command in a fenced block ends with its line.
  const text = README.split(/(```[\s\S]*?```)/)
    .map((part) => (part.startsWith('```') ? part : part.replace(/`[^`]*`/g, (span) => span.replace(/\n/g, ' '))))
    .join('');
  for (const m of text.matchAll(
    /(?:npx kmsgate|npx (yubihsm-sim|tee-sim)|npm run -s api-key --|(?<![\w-])api-key(?= generate| list| revoke| scope))((?: +[^\s`'")#]+)*)/g,
  )) {
    const words = m[2]!.trim().split(/ +/).filter(Boolean);
    const args = m[0].startsWith('npx kmsgate') ? words : [m[1] ?? 'api-key', ...words];
    found.set(args.join(' '), args);
  }
  return [...found.values()];
}

async function help(path: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (t: string) => {
    out += t;
  };
  const code = await run([...path, '--help'], { stdout: write, stderr: write, env: {} });
  return { code, out };
}

const commands = readmeCommands();

it('finds the README commands (the extraction is not silently empty)', () => {
  const paths = commands.map((c) => c.join(' '));
  for (const expected of ['init', 'keys list', 'audit verify --jsonl', 'audit tail -n 20', 'api-key generate --label me --role admin --env', 'api-key list'])
    expect(paths).toContain(expected);
  expect(commands.length).toBeGreaterThanOrEqual(15);
});

it.each(commands.map((c) => [c.join(' '), c] as const))('kmsgate %s: the command and its options exist', async (_name, args) => {
  // The command path: the leading plain words; options: every --name or -x among the rest.
  const path: string[] = [];
  for (const w of args) {
    if (!/^[a-z][a-z0-9-]*$/.test(w)) break;
    path.push(w);
  }
  const options = args.map((w) => w.replace(/^\[|\]$/g, '')).filter((w) => /^--?[a-z][a-z-]*$/.test(w));
  const { code, out } = await help(path);
  expect(code).toBe(0);
  // The commands kmsgate hands on to another tool answer with that tool's own usage (tee-bridge's on the lines under "Usage:").
  const usage = ['api-key', 'yubihsm-sim', 'tee-sim', 'tee-bridge'].includes(path[0]!)
    ? `^(?:Usage:)? *${path.join(' ')}`
    : `^Usage: kmsgate ${path.join(' ')}`;
  expect(out.split('\n')).toContainEqual(expect.stringMatching(new RegExp(`${usage.trimEnd()}(?: |$)`)));
  for (const option of options) expect(out).toMatch(new RegExp(`(?:^|[ ,])${option}(?:[ ,=]|$)`, 'm'));
});
