import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WycheproofKey {
  file: string;
  keySpec: string;
  algorithm: string;
  /** DER SubjectPublicKeyInfo, hex. */
  spki: string;
}

export interface WycheproofCase {
  result: 'valid' | 'invalid';
  comment: string;
  tcId: number;
  flags: string[];
  /** Index into `keys`. */
  key: number;
  msg: string;
  sig: string;
}

export interface WycheproofFile {
  source: string;
  keys: WycheproofKey[];
  cases: WycheproofCase[];
}

/**
 * Reads `test/vectors/<name>.json`. The file must say where its data comes from, and every case
 * must be `valid` or `invalid` and name a key: anything else fails the load rather than being
 * skipped.
 */
export function loadWycheproof(name: string): WycheproofFile {
  const parsed = JSON.parse(readFileSync(join(__dirname, '..', 'vectors', `${name}.json`), 'utf8')) as Partial<WycheproofFile>;
  if (typeof parsed.source !== 'string' || parsed.source.length === 0) throw new Error(`${name}.json: missing "source"`);
  if (!Array.isArray(parsed.keys) || !Array.isArray(parsed.cases) || parsed.cases.length === 0) throw new Error(`${name}.json: no keys or cases`);
  for (const c of parsed.cases) {
    if (c.result !== 'valid' && c.result !== 'invalid') throw new Error(`${name}.json tcId ${c.tcId}: unknown result label ${JSON.stringify(c.result)}`);
    if (parsed.keys[c.key] === undefined) throw new Error(`${name}.json tcId ${c.tcId}: no key ${c.key}`);
  }
  return parsed as WycheproofFile;
}

export function unhex(h: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(h)) throw new Error(`bad hex in vector: ${h}`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}
