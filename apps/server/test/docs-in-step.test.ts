import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KMS_ERRORS } from '@kmsgate/core';
import { KMSGATE_OPERATIONS, OPERATIONS } from '../src/operations';
import { UNSUPPORTED_OPERATIONS } from '../src/operations/unsupported';

/** openapi.yaml and docs/errors.md are part of the contract; these tests keep them in step with the code. */
const ROOT = join(__dirname, '..', '..', '..');

describe('openapi.yaml', () => {
  const doc = parseYaml(readFileSync(join(ROOT, 'openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string; parameters?: { name: string; schema?: { enum?: string[] } }[] }>>;
  };
  // The AWS operations kmsgate serves and its own (DeriveAddress): both are TrentService targets.
  const served = [...Object.keys(OPERATIONS), ...Object.keys(KMSGATE_OPERATIONS)].sort();

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

  it('lists every exception of the catalog in the AwsError schema', () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties: { __type: { enum: string[] } } }> } }).components.schemas;
    expect([...schemas.AwsError!.properties.__type.enum].sort()).toEqual(Object.keys(KMS_ERRORS).sort());
  });

  it('lists the relative server first, so "Try it out" calls the gateway that served /docs on any port', () => {
    const servers = (doc as unknown as { servers: { url: string }[] }).servers;
    expect(servers[0]!.url).toBe('/');
  });

  it('shows each response code only examples of errors with that status, and names only those in a 5xx description', () => {
    type Content = Record<string, { example?: unknown; examples?: Record<string, { value?: unknown }> }>;
    type Resp = { $ref?: string; description?: string; content?: Content };
    const full = doc as unknown as {
      paths: Record<string, Record<string, { responses?: Record<string, Resp> }>>;
      components: { responses: Record<string, Resp> };
    };
    const mismatches: string[] = [];
    for (const [path, item] of Object.entries(full.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [code, ref] of Object.entries(op.responses ?? {})) {
          const r = ref.$ref ? full.components.responses[ref.$ref.split('/').pop()!]! : ref;
          const examples = Object.values(r.content ?? {}).flatMap((c) => [c.example, ...Object.values(c.examples ?? {}).map((e) => e.value)]);
          const types = examples.flatMap((e) => (e && typeof e === 'object' && '__type' in e ? [String(e.__type)] : []));
          if (code.startsWith('5')) types.push(...[...(r.description ?? '').matchAll(/`(\w+Exception)`/g)].map((m) => m[1]!));
          for (const type of types) {
            const status = KMS_ERRORS[type as keyof typeof KMS_ERRORS]?.status;
            if (String(status) !== code) mismatches.push(`${method.toUpperCase()} ${path} ${code}: ${type} is ${status}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('documents the open routes', () => {
    for (const path of ['/', '/health', '/version', '/metrics', '/openapi.yaml', '/docs', '/attestation', '/RollbackCounter'])
      expect(doc.paths[path]?.get).toBeDefined();
  });
});

describe('docs/errors.md', () => {
  it('has one row per exception in the catalog, with its status', () => {
    const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(KMS_ERRORS).map(([k, v]) => [k, v.status])));
  });
});

describe('docs/api-coverage.md', () => {
  const text = readFileSync(join(ROOT, 'docs', 'api-coverage.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(\w+)` \| (yes|no) \|/gm)].map((m) => [m[1]!, m[2]!] as const);

  it('has one row per operation, in name order, saying whether the server serves it', () => {
    const expected = [
      ...Object.keys(OPERATIONS).map((op) => [op, 'yes'] as const),
      ...Object.keys(UNSUPPORTED_OPERATIONS).map((op) => [op, 'no'] as const),
    ].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it("lists kmsgate's own operations in a table of their own, which no AWS SDK has", () => {
    const own = [...text.matchAll(/^\| `(\w+)` \| kmsgate \|/gm)].map((m) => m[1]!);
    expect(own).toEqual(Object.keys(KMSGATE_OPERATIONS).sort());
    for (const op of own) expect(Object.keys(OPERATIONS)).not.toContain(op);
  });

  it('covers every command of @aws-sdk/client-kms', () => {
    const dir = join(dirname(require.resolve('@aws-sdk/client-kms/package.json')), 'dist-types', 'commands');
    const sdk = readdirSync(dir)
      .filter((f) => f.endsWith('Command.d.ts'))
      .map((f) => f.slice(0, -'Command.d.ts'.length))
      .sort();
    expect(rows.map(([op]) => op)).toEqual(sdk);
  });
});
