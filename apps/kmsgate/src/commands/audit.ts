/**
 * `kmsgate audit verify [--jsonl [path]] [--json]`, `kmsgate audit tail [-n N] [-f] [--json]` and
 * `kmsgate audit show <seq> [--json]`. All only read: they never repair the JSONL mirror (the
 * gateway does that at start-up) and may run while the gateway is serving.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option } from 'commander';
import {
  auditJsonLine,
  resolveDataDir,
  resolveDbPath,
  type AuditJsonlVerifyResult,
  type AuditReader,
  type AuditRecord,
  type AuditVerifyResult,
} from '@kmsgate/store';
import { CliError, cliConfig, cliStoreSpec, openCliStore, printable, withStore, type CliIo, type CommandModule } from '../context';

/** Where the gateway writes the mirror (apps/server/src/gateway.ts AUDIT_JSONL_FILE). */
const JSONL_FILE = 'audit.jsonl';
const DEFAULT_TAIL = 20;
/**
 * How often `tail -f` asks the store for new records, by seq, through ONE store it keeps open while
 * following (a PostgreSQL pool is not opened and closed four times a second). The SQLite file is
 * opened again only when the file at its path is no longer the one open (a restore moved another
 * into place); a PostgreSQL database restored in place is read through the same connections.
 */
const FOLLOW_POLL_MS = 250;

/** The audit log of the store the gateway uses (the contract's readers, read-only) for the duration of `f`. */
function withAudit<T>(env: NodeJS.ProcessEnv, f: (audit: AuditReader) => Promise<T>): Promise<T> {
  return withStore(env, { sealKey: false }, (store) => f(store.audit));
}

/** The store's audit reader, kept open for as long as `tail` runs. */
interface OpenAuditReader {
  /** The reader; on SQLite, of the file now at the store's path (opened again if it was replaced). */
  current(): Promise<AuditReader>;
  close(): Promise<void>;
}

async function openAuditReader(env: NodeJS.ProcessEnv): Promise<OpenAuditReader> {
  const file = cliStoreSpec(env).url === undefined ? resolveDbPath(env) : undefined;
  const open = async () => ({ identity: file === undefined ? undefined : fileIdentity(file), store: await openCliStore(env, { sealKey: false }) });
  let opened = await open();
  let closed = false;
  return {
    async current() {
      if (file !== undefined && fileIdentity(file) !== opened.identity) {
        closed = true;
        await opened.store.close();
        opened = await open();
        closed = false;
      }
      return opened.store.audit;
    },
    async close() {
      if (!closed) await opened.store.close();
      closed = true;
    },
  };
}

/** Which file is at `path` (device and inode), undefined when none is. */
function fileIdentity(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

export const auditCommands: CommandModule = (program, { io, setExitCode }) => {
  const audit = program.command('audit').description('the hash-chained audit log (docs/audit.md)');

  audit
    .command('verify')
    .description('check the whole hash chain in the store (and, with --jsonl, the JSONL mirror against it); exit 1 names the first broken record')
    .addOption(new Option('--jsonl [path]', `also check the JSONL mirror (default <data dir>/${JSONL_FILE})`))
    .option('--anchor <seq:hash>', 'also require record <seq> to have this hash (a head hash you kept elsewhere earlier)')
    .option('--json', 'print the result(s) as one JSON object')
    .action(async (opts: { jsonl?: string | true; anchor?: string; json?: boolean }) => {
      const jsonlPath = opts.jsonl === undefined ? undefined : opts.jsonl === true ? join(resolveDataDir(io.env), JSONL_FILE) : resolve(opts.jsonl);
      const anchor = opts.anchor === undefined ? undefined : parseAnchor(opts.anchor);
      const { chain, jsonl, anchored } = await withAudit(io.env, async (log) => ({
        chain: await log.verify(),
        jsonl: jsonlPath === undefined ? undefined : await log.verifyMirror(jsonlPath),
        anchored: anchor === undefined ? undefined : checkAnchor(anchor, await log.record(anchor.seq)),
      }));
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
    .description('print the last records, oldest first; with -f, then each new record as it is written, until Ctrl-C')
    .option('-n, --lines <n>', `how many (default ${DEFAULT_TAIL})`, String(DEFAULT_TAIL))
    .option('-f, --follow', 'keep printing records as the gateway (or this CLI) writes them')
    .option('--json', 'print each record as one JSON line, exactly as in the JSONL mirror')
    .action(async (opts: { lines: string; follow?: boolean; json?: boolean }) => {
      const n = Number(opts.lines);
      if (!/^\d+$/.test(opts.lines) || !Number.isSafeInteger(n)) throw new CliError(`-n must be a non-negative integer, got ${opts.lines}`);
      const reader = await openAuditReader(io.env);
      try {
        const log = await reader.current();
        const records = await log.tail(n);
        const head = (await log.tail(1))[0];
        // A shared store's records name the gateway that wrote each (audit.gatewayName): a column of its own.
        const gateways = cliConfig(io.env).store.url !== undefined;
        // In a table, rows printed later keep the columns of those printed first (a wider cell pushes its own on).
        let widths: number[] = [];
        const rows = (batch: readonly AuditRecord[], header: boolean) => {
          const t = table(batch, { header, widths, gateways });
          widths = t.widths;
          io.stdout(t.text);
        };
        if (opts.json) io.stdout(jsonLines(records));
        else if (records.length === 0 && !opts.follow) io.stdout('no audit records\n');
        else rows(records, true);
        if (!opts.follow) return;
        const followed = await follow(io, reader, head, (batch) => (opts.json ? io.stdout(jsonLines(batch)) : rows(batch, false)));
        if (!followed) setExitCode(1);
      } finally {
        await reader.close();
      }
    });

  audit
    .command('show')
    .description('print one record with every field (on a shared store, the gateway that wrote it); exit 1 when there is none')
    .argument('<seq>', "the record's sequence number")
    .option('--json', 'print it as one JSON line, exactly as in the JSONL mirror')
    .action(async (seqText: string, opts: { json?: boolean }) => {
      const seq = Number(seqText);
      if (!/^\d+$/.test(seqText) || !Number.isSafeInteger(seq) || seq < 1) throw new CliError(`<seq> must be a positive integer, got ${printable(seqText)}`);
      const record = await withAudit(io.env, (log) => log.record(seq));
      if (record === undefined) {
        io.stderr(`no audit record ${seq}\n`);
        setExitCode(1);
      } else io.stdout(opts.json ? jsonLines([record]) : describeRecord(record));
    });
};

/** One record as `field: value` lines, in the record's order; a field the store does not keep (gateway on SQLite) is left out. */
function describeRecord(r: AuditRecord): string {
  const fields: [string, string | null | undefined][] = [
    ['seq', String(r.seq)],
    ['at', iso(r.at)],
    ['gateway', r.gateway],
    ['decision', r.decision],
    ['gate', r.gate],
    ['reason', r.reason],
    ['operation', r.operation],
    ['key', r.keyId],
    ['api key', r.apiKeyId],
    ['request', r.requestId],
    ['summary', r.summary],
    ['signed digest', r.signedDigest],
    ['prev hash', r.prevHash],
    ['hash', r.hash],
  ];
  return fields
    .filter(([name, value]) => name !== 'gateway' || value !== undefined)
    .map(([name, value]) => `${name}: ${printable(value ?? '-')}\n`)
    .join('');
}

function jsonLines(records: readonly AuditRecord[]): string {
  return records.map((r) => auditJsonLine(r) + '\n').join('');
}

/**
 * Prints every record written after `from` (the head when following began) until SIGINT or SIGTERM,
 * then resolves true (exit 0, the store closed by the caller). Each poll first checks that the last
 * record printed is still there with the same hash: a store restored from a backup or replaced is
 * said once on stderr and followed from its own head. A poll that cannot read the store (the
 * database gone, its connection terminated and not to be had again) is said in one line on stderr
 * and resolves false (exit 1): a follower that went on silently would look like a quiet gateway.
 */
async function follow(io: CliIo, reader: OpenAuditReader, from: AuditRecord | undefined, print: (batch: AuditRecord[]) => void): Promise<boolean> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let last = from;
  try {
    for (;;) {
      try {
        await sleep(FOLLOW_POLL_MS, undefined, { signal: stop.signal });
      } catch {
        return true;
      }
      const seen = last;
      let next: { batch: AuditRecord[] } | { replacedBy: AuditRecord | undefined };
      try {
        const log = await reader.current();
        next =
          seen === undefined || (await log.record(seen.seq))?.hash === seen.hash
            ? { batch: await log.records({ afterSeq: seen?.seq ?? 0 }) }
            : { replacedBy: (await log.tail(1))[0] };
      } catch (e) {
        const reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
        io.stderr(`kmsgate: audit tail -f: the store could not be read (${reason}); stopped following\n`);
        return false;
      }
      if ('replacedBy' in next) {
        io.stderr(
          `kmsgate: record ${seen!.seq} is not the one printed any more (the store was restored or replaced); following from record ${next.replacedBy?.seq ?? 0}\n`,
        );
        last = next.replacedBy;
      } else if (next.batch.length > 0) {
        print(next.batch);
        last = next.batch.at(-1);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

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
      ? '; its last line is torn (an interrupted write): the gateway repairs it at its next start'
      : r.pendingTail === 'uncommitted'
        ? '; its last lines are records not (yet) committed to the database: removed at the next start if they never are'
        : r.pendingTail === 'unmirrored'
          ? "; the database has later records of this file's gateway whose lines are not written yet: the gateway writes them, or copies them at its next start"
          : '';
  return `OK: ${path} matches the database (${range}, ${r.lines} lines)${tail}\n`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const HEADER = ['SEQ', 'AT', 'DECISION', 'GATE', 'REASON', 'OPERATION', 'KEY', 'API KEY', 'REQUEST'];

/**
 * The records as table rows (after the header, with `header`), each column at least `widths` wide;
 * and the widths used. With `gateways`, a GATEWAY column after AT.
 */
function table(
  records: readonly AuditRecord[],
  { header = true, widths = [], gateways = false }: { header?: boolean; widths?: readonly number[]; gateways?: boolean } = {},
) {
  const columns = gateways ? [...HEADER.slice(0, 2), 'GATEWAY', ...HEADER.slice(2)] : HEADER;
  const rows = [
    ...(header ? [columns] : []),
    ...records.map((r) =>
      [
        String(r.seq),
        iso(r.at),
        ...(gateways ? [r.gateway ?? '-'] : []),
        r.decision,
        r.gate ?? '-',
        r.reason ?? '-',
        r.operation,
        r.keyId ?? '-',
        r.apiKeyId ?? '-',
        r.requestId,
      ].map(printable),
    ),
  ];
  const used = columns.map((_, i) => Math.max(widths[i] ?? 0, ...rows.map((row) => row[i]!.length)));
  const text = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(used[i]!))
      .join('  ')
      .trimEnd(),
  );
  return { text: text.map((line) => line + '\n').join(''), widths: used };
}
