import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * AWS's own answers to invalid requests (vectors/aws/kms-errors.json, each case naming where it
 * was recorded), replayed against a real gateway: `__type` and `message` must match exactly.
 */
interface Case {
  name: string;
  label: string;
  source: string;
  recorded: string;
  request: { operation: string; body: unknown };
  expect: { __type: string; message: string };
}
const { cases } = JSON.parse(readFileSync(join(__dirname, 'vectors', 'aws', 'kms-errors.json'), 'utf8')) as { cases: Case[] };
for (const c of cases) if (c.label !== 'invalid') throw new Error(`${c.name}: unknown label ${c.label}`);

let t: TestGateway;
const values: Record<string, string> = { missingKeyId: '0a1b2c3d-0000-4000-8000-000000000000' };
beforeAll(async () => {
  t = await startTestGateway();
  values.keyId = (await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).json.KeyMetadata.KeyId;
  values.missingArn = `arn:aws:kms:us-east-1:111122223333:key/${values.missingKeyId}`;
});
afterAll(async () => {
  await t.stop();
});

const fill = (text: string) => text.replace(/\$\{(\w+)\}/g, (_, k: string) => values[k]!);

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  const r = await t.call(c.request.operation, JSON.parse(fill(JSON.stringify(c.request.body))));
  expect(r.status).toBe(400);
  expect(r.json).toEqual({ __type: c.expect.__type, message: fill(c.expect.message) });
});
