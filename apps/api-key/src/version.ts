import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This CLI's version, from its package.json (one level above src/, and above a build's output directory alike). */
export const VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
