import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteAuditLog, openDb, type AuditRecord } from '@kmsgate/store';

/** `kmsgate audit …` as a real process: the bin npm linked at the repository root (what `npx kmsgate` runs). */
const ROOT = resolve(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin', 'kmsgate');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-cli-audit-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function kmsgate(...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, KMSGATE_DATA_DIR: dataDir };
  delete env.KMS_DB_PATH;
  return new Promise((res) => {
    execFile(BIN, args, { cwd: ROOT, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** n records written the way the gateway writes them (SQLite + <data dir>/audit.jsonl). */
async function fill(n: number): Promise<AuditRecord[]> {
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    const log = new SqliteAuditLog(db, { jsonlPath: join(dataDir, 'audit.jsonl'), fsync: false });
    const out: AuditRecord[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        await log.append({
          requestId: `req-${i + 1}`,
          apiKeyId: 'ak_00000000000000aa',
          operation: 'Sign',
          keyId: `key-${i + 1}`,
          decision: i % 2 ? 'deny' : 'accept',
          ...(i % 2 ? { gate: 'policy' as const, reason: 'daily_cap' } : {}),
        }),
      );
    return out;
  } finally {
    db.close();
  }
}

/** What someone with write access to kms.db can do: drop the append-only triggers, then edit. */
function tamper(sql: string): void {
  const db = openDb(join(dataDir, 'kms.db'));
  try {
    db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; ${sql}`);
  } finally {
    db.close();
  }
}

test('verify: an intact chain and mirror', async () => {
  const records = await fill(12);
  const r = await kmsgate('audit', 'verify', '--jsonl');
  expect(r).toEqual({
    code: 0,
    stdout:
      `OK: 12 records, hash chain intact; head hash ${records[11]!.hash}\n` +
      `OK: ${join(dataDir, 'audit.jsonl')} matches the database (records 1-12, 12 lines)\n`,
    stderr: '',
  });
});

test('verify names an edited record (exit 1)', async () => {
  await fill(10);
  tamper("UPDATE audit_log SET decision = 'accept', gate = NULL, reason = NULL WHERE seq = 6");
  const r = await kmsgate('audit', 'verify');
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('BROKEN at record 6: hash of record 6 does not match its contents (the record was edited)\n  (5 records before it verified)\n');
});

test('verify reports a deleted record as a gap', async () => {
  await fill(10);
  tamper('DELETE FROM audit_log WHERE seq = 4');
  const r = await kmsgate('audit', 'verify', '--json');
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual({ ok: false, chain: { ok: false, count: 3, brokenAt: 4, reason: 'record 4 is missing (the next record is 5)' } });
});

test('verify --jsonl names the first line of the mirror that differs', async () => {
  await fill(5);
  const path = join(dataDir, 'audit.jsonl');
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[2] = lines[2]!.replace('"keyId":"key-3"', '"keyId":"key-X"');
  writeFileSync(path, lines.join('\n'));
  const r = await kmsgate('audit', 'verify', '--jsonl');
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('OK: 5 records, hash chain intact');
  expect(r.stdout).toContain(`JSONL BROKEN at line 3 (record 3) of ${path}: field keyId differs from the database's record 3`);
});

test('verify --anchor checks a head hash kept elsewhere; removing records from the end is caught by it', async () => {
  const records = await fill(6);
  const anchor = `6:${records[5]!.hash}`;
  expect((await kmsgate('audit', 'verify', '--anchor', anchor)).stdout).toContain('OK: record 6 still has the anchored hash');
  tamper('DELETE FROM audit_log WHERE seq >= 5');
  const r = await kmsgate('audit', 'verify', '--anchor', anchor);
  expect(r.stdout).toContain('OK: 4 records, hash chain intact'); // the shorter chain is valid on its own…
  expect(r.stdout).toContain('ANCHOR MISMATCH: record 6 does not exist any more'); // …the anchor is not
  expect(r.code).toBe(1);
});

test('tail prints the last records oldest first, as a table or as JSONL lines', async () => {
  await fill(5);
  const table = await kmsgate('audit', 'tail', '-n', '2');
  expect(table.code).toBe(0);
  const rows = table.stdout.trimEnd().split('\n');
  expect(rows[0]).toMatch(/^SEQ\s+AT\s+DECISION\s+GATE\s+REASON\s+OPERATION\s+KEY\s+API KEY\s+REQUEST$/);
  expect(rows.slice(1).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
    ['4', expect.stringMatching(/Z$/), 'deny', 'policy', 'daily_cap', 'Sign'],
    ['5', expect.stringMatching(/Z$/), 'accept', '-', '-', 'Sign'],
  ]);
  const json = await kmsgate('audit', 'tail', '-n', '3', '--json');
  const mirror = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8').split('\n');
  expect(json.stdout).toBe(mirror.slice(2, 5).join('\n') + '\n');
});

test('show prints one record with every field (no gateway on SQLite) or its JSONL line; a missing record exits 1, a bad seq 2, each one line', async () => {
  const [, second] = await fill(2);
  const shown = await kmsgate('audit', 'show', '2');
  expect(shown).toMatchObject({ code: 0, stderr: '' });
  expect(shown.stdout).toBe(
    [
      'seq: 2',
      `at: ${new Date(second!.at).toISOString()}`,
      'decision: deny',
      'gate: policy',
      'reason: daily_cap',
      'operation: Sign',
      'key: key-2',
      'api key: ak_00000000000000aa',
      'request: req-2',
      'summary: -',
      'signed digest: -',
      `prev hash: ${second!.prevHash}`,
      `hash: ${second!.hash}`,
      '',
    ].join('\n'),
  );
  expect((await kmsgate('audit', 'show', '1', '--json')).stdout).toBe(readFileSync(join(dataDir, 'audit.jsonl'), 'utf8').split('\n')[0] + '\n');
  expect(await kmsgate('audit', 'show', '3')).toEqual({ code: 1, stdout: '', stderr: 'no audit record 3\n' });
  for (const bad of ['0', 'x', '-1', '1.5'])
    expect(await kmsgate('audit', 'show', '--', bad)).toEqual({ code: 2, stdout: '', stderr: `kmsgate: <seq> must be a positive integer, got ${bad}\n` });
});

test('without a database it says where it looked (exit 2)', async () => {
  const r = await kmsgate('audit', 'verify');
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    `kmsgate: no kmsgate store at ${join(dataDir, 'kms.db')}: set KMSGATE_DATA_DIR (or KMS_DB_PATH) as for the server, or create one with \`kmsgate init\`\n`,
  );
});
