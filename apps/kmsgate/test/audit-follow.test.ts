import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { SqliteAuditLog, openDb } from '@kmsgate/store';
import { startTestGateway, type TestGateway } from '../../server/test/helpers/gateway';
import { followAudit, lines } from './helpers/follower';

/**
 * `kmsgate audit tail -f` as a real process against the data dir a real gateway is writing:
 * it prints the last records, then each new one as the gateway commits it, and ends with exit 0
 * on Ctrl-C. Every wait is for output, never for time.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.stop();
});

/** `kmsgate audit tail …` on `dataDir`, as a real process. */
const follow = (dataDir: string, ...args: string[]) => followAudit({ KMSGATE_DATA_DIR: dataDir }, ...args);

test('follows the records the gateway writes, as a table, and exits 0 on SIGINT', async () => {
  const kms = t.client();
  await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'before' }));
  const f = follow(t.dataDir, '-n', '1', '-f');
  // The header and the one record that was there.
  const first = await f.until((out) => lines(out).length >= 2);
  expect(lines(first)[0]).toMatch(/^SEQ\s+AT\s+DECISION\s+GATE\s+REASON\s+OPERATION\s+KEY\s+API KEY\s+REQUEST$/);
  expect(lines(first)[1]).toMatch(/^1\s+\S+Z\s+admin\s+-\s+-\s+CreateKey\s/);

  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/followed', TargetKeyId: KeyMetadata!.KeyId }));
  const after = await f.until((out) => /CreateAlias/.test(out));
  expect(
    lines(after)
      .slice(1)
      .map((l) => l.split(/\s+/).slice(0, 6)),
  ).toEqual([
    ['1', expect.stringMatching(/Z$/), 'admin', '-', '-', 'CreateKey'],
    ['2', expect.stringMatching(/Z$/), 'admin', '-', '-', 'CreateKey'],
    ['3', expect.stringMatching(/Z$/), 'admin', '-', '-', 'CreateAlias'],
  ]);
  expect(lines(after)[2]).toContain(KeyMetadata!.KeyId);

  f.child.kill('SIGINT');
  expect(await f.exit).toEqual({ code: 0, signal: null, stderr: '' });
});

test('--json prints each new record exactly as the JSONL mirror holds it', async () => {
  const f = follow(t.dataDir, '-n', '1', '-f', '--json');
  // The record that was there: the follower has read the head and follows from it.
  const first = await f.until((out) => out.endsWith('\n'));
  const before = (JSON.parse(first) as { seq: number }).seq;
  await t.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'json' }));
  const out = await f.until((o) => lines(o).length === 2 && o.endsWith('\n'));
  const mirror = readFileSync(join(t.dataDir, 'audit.jsonl'), 'utf8').split('\n');
  expect(lines(out)).toEqual([mirror[before - 1], mirror[before]]);
  expect(JSON.parse(lines(out)[1]!)).toMatchObject({ seq: before + 1, operation: 'CreateKey', decision: 'admin' });
  f.child.kill('SIGTERM');
  expect((await f.exit).code).toBe(0);
});

test('a store replaced under it (a restore) is said on stderr and followed from its own head', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'kmsgate-follow-a-')), mkdtempSync(join(tmpdir(), 'kmsgate-follow-b-'))];
  /** Appends records to a data dir's store the way the gateway does; closes it again (no WAL left behind). */
  const append = async (dir: string, ...operations: string[]) => {
    const db = openDb(join(dir, 'kms.db'));
    try {
      const log = new SqliteAuditLog(db, { jsonlPath: join(dir, 'audit.jsonl'), fsync: false });
      for (const operation of operations) await log.append({ requestId: `req-${operation}`, operation, decision: 'admin' });
    } finally {
      db.close();
    }
  };
  try {
    await append(dirs[0]!, 'OldOne', 'OldTwo', 'OldThree');
    await append(dirs[1]!, 'RestoredOne');
    const f = follow(dirs[0]!, '-n', '1', '-f', '--json');
    await f.until((out) => out.includes('OldThree'));
    // What a restore does: the store and its mirror, each moved into place.
    renameSync(join(dirs[1]!, 'kms.db'), join(dirs[0]!, 'kms.db'));
    renameSync(join(dirs[1]!, 'audit.jsonl'), join(dirs[0]!, 'audit.jsonl'));
    expect(await f.untilStderr((e) => e.includes('\n'))).toBe(
      'kmsgate: record 3 is not the one printed any more (the store was restored or replaced); following from record 1\n',
    );
    await append(dirs[0]!, 'AfterRestore');
    const out = await f.until((o) => o.includes('AfterRestore'));
    expect(lines(out).map((l) => (JSON.parse(l) as { seq: number; operation: string }).operation)).toEqual(['OldThree', 'AfterRestore']);
    f.child.kill('SIGINT');
    expect((await f.exit).code).toBe(0);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
