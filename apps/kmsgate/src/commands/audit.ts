/**
 * `kmsgate audit verify [--jsonl [path]] [--json]` and `kmsgate audit tail [-n N] [--json]`.
 * Both only read: they never repair the JSONL mirror (the gateway does that at start-up) and may
 * run while the gateway is serving.
 */
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import {
  auditJsonLine,
  readAuditRecord,
  readAuditTail,
  resolveDataDir,
  verifyAuditChain,
  verifyAuditJsonl,
  type AuditJsonlVerifyResult,
  type AuditRecord,
  type AuditVerifyResult,
} from '@kmsgate/store';
import { CliError, printable, withDb, type CommandModule } from '../context';

/** Where the gateway writes the mirror (apps/server/src/gateway.ts AUDIT_JSONL_FILE). */
const JSONL_FILE = 'audit.jsonl';
const DEFAULT_TAIL = 20;

export const auditCommands: CommandModule = (program, { io, setExitCode }) => {
  const audit = program.command('audit').description('the hash-chained audit log (docs/audit.md)');

  audit
    .command('verify')
    .description('check the whole hash chain in SQLite (and, with --jsonl, the JSONL mirror against it); exit 1 names the first broken record')
    .addOption(new Option('--jsonl [path]', `also check the JSONL mirror (default <data dir>/${JSONL_FILE})`))
    .option('--anchor <seq:hash>', 'also require record <seq> to have this hash (a head hash you kept elsewhere earlier)')
    .option('--json', 'print the result(s) as one JSON object')
    .action((opts: { jsonl?: string | true; anchor?: string; json?: boolean }) => {
      const jsonlPath = opts.jsonl === undefined ? undefined : opts.jsonl === true ? join(resolveDataDir(io.env), JSONL_FILE) : resolve(opts.jsonl);
      const anchor = opts.anchor === undefined ? undefined : parseAnchor(opts.anchor);
      const { chain, jsonl, anchored } = withDb(
        io.env,
        (db) => ({
          chain: verifyAuditChain(db),
          jsonl: jsonlPath === undefined ? undefined : verifyAuditJsonl(db, jsonlPath),
          anchored: anchor === undefined ? undefined : checkAnchor(anchor, readAuditRecord(db, anchor.seq)),
        }),
        { mustExist: true },
      );
      const ok = chain.ok && (jsonl === undefined || jsonl.ok) && (anchored === undefined || anchored.ok);
      if (opts.json) {
        io.stdout(
          `${JSON.stringify({ ok, chain, ...(jsonl ? { jsonl: { path: jsonlPath, ...jsonl } } : {}), ...(anchored ? { anchor: anchored } : {}) }, null, 2)}\n`,
        );
      } else {
        io.stdout(describeChain(chain));
        if (jsonl) io.stdout(describeJsonl(jsonl, jsonlPath!));
        if (anchored) io.stdout(`${anchored.ok ? 'OK' : 'ANCHOR MISMATCH'}: ${anchored.message}\n`);
      }
      if (!ok) setExitCode(1);
    });

  audit
    .command('tail')
    .description('print the last records, oldest first')
    .option('-n, --lines <n>', `how many (default ${DEFAULT_TAIL})`, String(DEFAULT_TAIL))
    .option('--json', 'print each record as one JSON line, exactly as in the JSONL mirror')
    .action((opts: { lines: string; json?: boolean }) => {
      const n = Number(opts.lines);
      if (!/^\d+$/.test(opts.lines) || !Number.isSafeInteger(n)) throw new CliError(`-n must be a non-negative integer, got ${opts.lines}`);
      const records = withDb(io.env, (db) => readAuditTail(db, n), { mustExist: true });
      if (opts.json) io.stdout(records.map((r) => auditJsonLine(r) + '\n').join(''));
      else io.stdout(table(records));
    });
};

function parseAnchor(text: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!m) throw new CliError(`--anchor must be <seq>:<64 lowercase hex>, got ${printable(text)}`);
  return { seq: Number(m[1]), hash: m[2]! };
}

function checkAnchor(anchor: { seq: number; hash: string }, record: AuditRecord | undefined): { ok: boolean; message: string } {
  if (!record) return { ok: false, message: `record ${anchor.seq} does not exist any more (records were removed from the end)` };
  if (record.hash !== anchor.hash) return { ok: false, message: `record ${anchor.seq} has hash ${record.hash}, not the anchored ${anchor.hash}` };
  return { ok: true, message: `record ${anchor.seq} still has the anchored hash` };
}

function describeChain(r: AuditVerifyResult): string {
  if (r.ok) return `OK: ${r.count} records, hash chain intact; head hash ${r.lastHash}\n`;
  return `BROKEN at record ${r.brokenAt}: ${r.reason}\n  (${r.count} records before it verified)\n`;
}

function describeJsonl(r: AuditJsonlVerifyResult, path: string): string {
  if (!r.ok) return `JSONL BROKEN at line ${r.line}${r.seq !== null ? ` (record ${r.seq})` : ''} of ${path}: ${r.reason}\n`;
  const range = r.firstSeq === null ? 'no records' : `records ${r.firstSeq}-${r.lastSeq}`;
  const tail =
    r.pendingTail === 'torn'
      ? '; its last line is torn (an interrupted write, never committed): the gateway removes it at its next start'
      : r.pendingTail === 'uncommitted'
        ? '; its last lines are records not (yet) committed to the database: removed at the next start if they never are'
        : '';
  return `OK: ${path} matches the database (${range}, ${r.lines} lines)${tail}\n`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function table(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'no audit records\n';
  const rows = [
    ['SEQ', 'AT', 'DECISION', 'GATE', 'REASON', 'OPERATION', 'KEY', 'API KEY', 'REQUEST'],
    ...records.map((r) =>
      [String(r.seq), iso(r.at), r.decision, r.gate ?? '-', r.reason ?? '-', r.operation, r.keyId ?? '-', r.apiKeyId ?? '-', r.requestId].map(printable),
    ),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
