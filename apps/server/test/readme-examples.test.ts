import { execFile } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * The README's quick start, run as written: its shell blocks (KMSGATE_URL and api-key with --env,
 * --json, the AWS CLI, boto3, curl, a TEE key, an attestation checked offline) in one bash session
 * and its SDK example as quickstart.mjs, against a gateway on a random (so non-default) port. The
 * only edit is the one the README asks for on another port, the value of KMSGATE_URL; if it needs
 * anything else (a value pasted from an earlier output, a variable it never sets, an address
 * written into an example), this fails.
 */
const ROOT = join(__dirname, '..', '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of `lang` in the README section under `heading`, in order. */
function blocks(heading: string, lang: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no heading ${heading}`);
  const end = README.slice(start + heading.length + 2).search(/\n#{1,3} /);
  const section = README.slice(start, end < 0 ? undefined : start + heading.length + 2 + end);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

let t: TestGateway;
let work: string;
beforeAll(async () => {
  t = await startTestGateway();
  // Under the repository's node_modules, so `import '@aws-sdk/client-kms'` resolves as from the root.
  mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  work = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'kmsgate-readme-'));
});
afterAll(async () => {
  await t.stop();
  rmSync(work, { recursive: true, force: true });
});

const DEFAULT_URL = 'http://127.0.0.1:8080';

it('runs the quick start (api-key, SDK, AWS CLI, boto3, curl, TEE, attestation) on another port, editing only KMSGATE_URL', async () => {
  const [setup, json] = blocks('### Create an API key', 'sh');
  const sdk = blocks('### AWS SDK for JavaScript v3', 'js')[0]!;
  const rest = [...blocks('### AWS CLI', 'sh'), ...blocks('### boto3', 'sh'), ...blocks('### curl (x-api-key)', 'sh'), ...blocks('## Backends', 'sh')];
  // The address is written once, in the line a user on another port changes; the examples read the variable.
  expect(setup).toContain(`export KMSGATE_URL=${DEFAULT_URL} `);
  for (const example of [json!, ...rest]) expect(example).not.toContain('127.0.0.1');
  expect(sdk).toContain(`process.env.KMSGATE_URL ?? '${DEFAULT_URL}'`);
  writeFileSync(join(work, 'quickstart.mjs'), sdk);
  const script = [
    'set -euo pipefail',
    `cd ${JSON.stringify(ROOT)}`,
    setup!.replace(`KMSGATE_URL=${DEFAULT_URL}`, `KMSGATE_URL=${t.url}`),
    'echo; echo "--- json"',
    json!,
    `cd ${JSON.stringify(work)}`,
    'echo; echo "--- sdk"',
    'node quickstart.mjs',
    'echo; echo "--- cli"',
    blocks('### AWS CLI', 'sh')[0]!,
    'echo; echo "--- boto3"',
    blocks('### boto3', 'sh')[0]!,
    'echo; echo "--- curl"',
    ...blocks('### curl (x-api-key)', 'sh'),
    'echo; echo "--- tee"',
    ...blocks('## Backends', 'sh'),
  ].join('\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: work,
    KMSGATE_DATA_DIR: t.dataDir,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 22 });

  const [, generated, sdkOut, cli, boto3, curl, tee] = stdout.split(/^--- \w+$/m);
  // The README's picture of --json is what the command it shows prints (same members, label and role).
  const shown = JSON.parse(README.match(/```json\n([\s\S]*?)```/)![1]!) as Record<string, unknown>;
  const printed = JSON.parse(generated!) as Record<string, unknown>;
  expect(Object.keys(printed).sort()).toEqual(Object.keys(shown).sort());
  expect(printed).toMatchObject({ label: shown.label, role: shown.role, expiresAt: shown.expiresAt });
  expect(sdkOut).toMatch(/^Verify: true {2}node:crypto: true$/m);
  expect(JSON.parse(cli!)).toMatchObject({ SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' });
  const message = readFileSync(join(work, 'msg'));
  const publicKey = createPublicKey({ key: readFileSync(join(work, 'pub.der')), format: 'der', type: 'spki' });
  expect(verify('sha256', message, publicKey, readFileSync(join(work, 'sig.der')))).toBe(true);
  // Two keys by now: the SDK example's and the CLI's.
  expect(boto3!.match(/'KeyId'/g)).toHaveLength(2);
  const [list, sign] = curl!.trim().split(/(?<=\})\s*(?=\{)/);
  expect(JSON.parse(list!).Keys).toHaveLength(2);
  expect(verify('sha256', Buffer.from('hello kmsgate'), publicKey, Buffer.from(JSON.parse(sign!).Signature, 'base64'))).toBe(true);
  // The TEE key, then the attestation verified offline (the verifier's result line; its warnings go to stderr).
  expect(tee).toMatch(/"CustomKeyStoreId": "tee"/);
  expect(tee).toMatch(/^VERIFIED: /m);
});
