import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KMS_ERRORS } from '@kmsgate/core';
import { OPERATIONS } from '../src/operations';

/** openapi.yaml and docs/errors.md are part of the contract; these tests keep them in step with the code. */
const ROOT = join(__dirname, '..', '..', '..');

describe('openapi.yaml', () => {
  const doc = parseYaml(readFileSync(join(ROOT, 'openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string; parameters?: { name: string; schema?: { enum?: string[] } }[] }>>;
  };
  const served = Object.keys(OPERATIONS).sort();

  it('documents POST /<Operation> for exactly the operations the server serves', () => {
    const documented = Object.entries(doc.paths)
      .filter(([path, item]) => /^\/[A-Z]\w+$/.test(path) && item.post)
      .map(([path, item]) => {
        expect(item.post!.operationId).toBe(path.slice(1));
        return path.slice(1);
      })
      .sort();
    expect(documented).toEqual(served);
  });

  it('lists exactly the served operations as X-Amz-Target values of POST /', () => {
    const target = doc.paths['/']!.post!.parameters!.find((p) => p.name.toLowerCase() === 'x-amz-target');
    expect([...target!.schema!.enum!].sort()).toEqual(served.map((op) => `TrentService.${op}`));
  });

  it('documents the open routes', () => {
    for (const path of ['/health', '/version', '/openapi.yaml', '/docs']) expect(doc.paths[path]?.get).toBeDefined();
  });
});

describe('docs/errors.md', () => {
  it('has one row per exception in the catalog, with its status', () => {
    const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(KMS_ERRORS).map(([k, v]) => [k, v.status])));
  });
});
