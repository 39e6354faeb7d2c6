import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { openDb, verifyAuditChain } from '@kmsgate/store';

/** `kmsgate policy …` as a real process against a real store, as an operator runs it on the host. */
const ROOT = resolve(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin', 'kmsgate');
const EXAMPLE = parseYaml(readFileSync(join(ROOT, 'examples', 'kmsgate.yaml'), 'utf8')) as { policies: Record<string, Record<string, unknown>> };

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-policy-'));
  openDb(join(dataDir, 'kms.db')).close();
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function kmsgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, KMSGATE_DATA_DIR: dataDir };
  delete env.KMS_DB_PATH;
  return new Promise((res) => {
    execFile(BIN, args, { cwd: ROOT, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function auditOperations(): string[] {
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    expect(verifyAuditChain(db)).toMatchObject({ ok: true });
    return (db.prepare('SELECT operation FROM audit_log ORDER BY seq').all() as { operation: string }[]).map((r) => r.operation);
  } finally {
    db.close();
  }
}

it('puts, lists, gets and deletes a runtime policy, auditing each change', async () => {
  const file = join(dataDir, 'trader.yaml');
  writeFileSync(file, JSON.stringify(EXAMPLE.policies['alias/solana-trader']));
  const put = await kmsgate('policy', 'put', 'alias/solana-trader', '--file', file);
  expect(put).toMatchObject({ code: 0 });

  const list = await kmsgate('policy', 'list', '--json');
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ selector: 'alias/solana-trader', updatedBy: 'cli' })]);
  const got = JSON.parse((await kmsgate('policy', 'get', 'alias/solana-trader')).stdout);
  expect(got.policy).toMatchObject({ chain: 'solana', caps: { native: { perTransaction: '5000000000' } } });

  expect(await kmsgate('policy', 'delete', 'alias/solana-trader')).toMatchObject({ code: 0 });
  expect(await kmsgate('policy', 'delete', 'alias/solana-trader')).toMatchObject({ code: 1 });
  expect(await kmsgate('policy', 'get', 'alias/solana-trader')).toMatchObject({ code: 1 });
  expect(auditOperations()).toEqual(['PutSigningPolicy', 'DeleteSigningPolicy']);
});

it('refuses an invalid policy or selector, naming the problem, and stores nothing', async () => {
  const file = join(dataDir, 'typo.json');
  writeFileSync(file, JSON.stringify({ ...EXAMPLE.policies['alias/solana-trader'], rateLimts: { perMinute: 1 } }));
  const typo = await kmsgate('policy', 'put', 'alias/solana-trader', '--file', file);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain('rateLimts');
  const badSelector = await kmsgate('policy', 'put', 'solana-trader', '--file', file);
  expect(badSelector.code).toBe(2);
  expect(badSelector.stderr).toContain('alias name');
  expect(JSON.parse((await kmsgate('policy', 'list', '--json')).stdout)).toEqual([]);
  expect(auditOperations()).toEqual([]);
});
