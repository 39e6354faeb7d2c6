import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type VectorResult = 'valid' | 'invalid';

export interface VectorCase {
  result: VectorResult;
  comment: string;
}

export interface VectorFile<C> {
  source: string;
  cases: (C & VectorCase)[];
}

/**
 * Reads `test/vectors/<name>.json`. Every file must say where its data comes from, and every case
 * must be `valid` or `invalid`: an unknown label fails the load rather than being skipped.
 */
export function loadVectors<C>(name: string): VectorFile<C> {
  const parsed = JSON.parse(readFileSync(join(__dirname, '..', 'vectors', `${name}.json`), 'utf8')) as {
    source?: unknown;
    cases?: unknown;
  };
  if (typeof parsed.source !== 'string' || parsed.source.length === 0) throw new Error(`${name}.json: missing "source"`);
  if (!Array.isArray(parsed.cases) || parsed.cases.length === 0) throw new Error(`${name}.json: no cases`);
  for (const [i, c] of (parsed.cases as Record<string, unknown>[]).entries()) {
    if (c.result !== 'valid' && c.result !== 'invalid') {
      throw new Error(`${name}.json case ${i}: unknown result label ${JSON.stringify(c.result)}`);
    }
    if (typeof c.comment !== 'string') throw new Error(`${name}.json case ${i}: missing comment`);
  }
  return parsed as VectorFile<C>;
}

export function unhex(h: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(h)) throw new Error(`bad hex in vector: ${h}`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
