import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAuditLog, openDb } from '@kmsgate/store';
import { ROOT } from './helpers/cli';

/**
 * A reader that stops reading (`kmsgate audit tail -f | head -3`): the CLIs end as a Unix tool
 * killed by SIGPIPE does, silently with status 141, not with an EPIPE error. Real processes in a
 * real bash pipeline; PIPESTATUS gives each side's status.
 */
const BIN = join(ROOT, 'node_modules', '.bin');
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-pipe-'));
  await appendRecords(5);
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function appendRecords(n: number): Promise<void> {
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    const log = new SqliteAuditLog(db);
    for (let i = 0; i < n; i++) await log.append({ requestId: `pipe-${process.hrtime.bigint()}`, decision: 'admin', operation: 'TagResource' });
  } finally {
    db.close();
  }
}

/**
 * Runs `script` under `bash -o pipefail`; `tick` is called on every poll until bash exits (a
 * follower only writes, and so only meets the closed pipe, when there is something new to write).
 */
function bash(script: string, tick?: () => void): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const child = spawn('bash', ['-o', 'pipefail', '-c', script], {
    cwd: ROOT,
    env: { ...process.env, KMSGATE_DATA_DIR: dataDir, PATH: `${BIN}:${process.env.PATH}` },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out.stderr += c));
  const poll = tick ? setInterval(tick, 200) : undefined;
  return new Promise((ok) =>
    child.once('close', (code) => {
      clearInterval(poll);
      ok({ ...out, code });
    }),
  );
}

test('kmsgate audit tail -f | head -3 ends quietly once head has its lines', async () => {
  const r = await bash('kmsgate audit tail -f -n 5 | head -3; echo "status ${PIPESTATUS[*]}"', () => void appendRecords(1));
  const lines = r.stdout.split('\n');
  expect(lines[0]).toMatch(/^SEQ\s+AT\s+DECISION/);
  expect(lines.slice(1, 3).every((l) => /^\d+\s+\S+Z\s+admin\s/.test(l))).toBe(true);
  expect(lines[3]).toBe('status 141 0');
  expect(r.stderr).toBe('');
});

test('api-key list --json into a reader that closes at once ends quietly too', async () => {
  const r = await bash('api-key list --json | true; echo "status ${PIPESTATUS[*]}"');
  expect(r).toEqual({ code: 0, stdout: 'status 141 0\n', stderr: '' });
});
