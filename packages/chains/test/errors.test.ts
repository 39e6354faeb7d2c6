import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DECODE_ERROR_CODES, DecodeError } from '../src';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('reason codes are UPPER_SNAKE, each with a one-line doc', () => {
  for (const [code, doc] of Object.entries(DECODE_ERROR_CODES)) {
    expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(doc).toMatch(/^[A-Z].{10,200}\.$/);
    expect(doc).not.toContain('\n');
  }
});

test('every code in the table is raised somewhere in the source (no dead codes)', () => {
  const src = sources(join(__dirname, '..', 'src'))
    .filter((p) => !p.endsWith('errors.ts'))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
  for (const code of Object.keys(DECODE_ERROR_CODES)) expect(src).toContain(`'${code}'`);
});

test('DecodeError carries its code and message', () => {
  const err = new DecodeError('SOLANA_MALFORMED', 'truncated');
  expect(err).toBeInstanceOf(Error);
  expect(err).toMatchObject({ name: 'DecodeError', code: 'SOLANA_MALFORMED', message: 'truncated' });
});
