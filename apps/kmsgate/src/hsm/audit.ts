/**
 * `kmsgate hsm audit`: reads each device's own log with the auditor key, checks that it chains on
 * from what the previous run kept, keeps the new entries in the store, reconciles them with
 * kmsgate's audit log (packages/yubihsm/src/ceremony/reconcile.ts), and only then releases them on
 * the device (SET_LOG_INDEX), which is what lets a device with force audit on keep working.
 * Exit 1 when the device did something kmsgate did not record, or its log does not chain.
 */
import { HsmLogStore, KeyStore, readAuditRecords, readAuditTail, type StoredLogEntry } from '@kmsgate/store';
import {
  type DeviceLogEntry, GetLogEntries, ProtocolError, YubiHsmClient, authKeyOf, describeEntry, isSessionRefusal, reconcile, verifyLogChain,
  keyObject,
} from '@kmsgate/yubihsm';
import { CliError, printable, withDb, type CliIo } from '../context';
import { objectIdOf, storedKeys } from './stored-keys';
import { objectTypeOf } from './key-objects';
import { hex4, loadSecrets } from './ceremony-input';
import { readSecretFile } from './secret-files';

export interface HsmAuditOptions {
  connectors: string[];
  backend: string;
  mnemonicFile?: string;
  passwordFile?: string;
  json: boolean;
}

interface DeviceRead {
  serial: number;
  client: YubiHsmClient;
  fresh: GetLogEntries.LogEntry[];
  unloggedBoots: number;
  unloggedAuths: number;
  /** Why the new entries do not chain on from the last kept one, if they do not. */
  gap?: string;
  reset: boolean;
}

function auditorPassword(opts: HsmAuditOptions): string {
  if ((opts.mnemonicFile === undefined) === (opts.passwordFile === undefined)) throw new CliError('give exactly one of --mnemonic-file or --password-file (the auditor\'s password)');
  if (opts.passwordFile !== undefined) return readSecretFile(opts.passwordFile, 'password file').replace(/\r?\n$/, '');
  const secrets = loadSecrets(opts.mnemonicFile!);
  try {
    return secrets.password('auditor');
  } finally {
    secrets.wipe();
  }
}

/** After a factory reset the log starts again at entry 1, every field 0xff (Get Log Entries page). */
function isResetMarker(e: GetLogEntries.LogEntryData): boolean {
  return e.number === 1 && e.command === 0xff && e.targetKey === 0xffff && e.sessionKey === 0xffff;
}

/** The entries after `last` (kept by the previous run) and whether they chain on from it. */
function newEntries(held: GetLogEntries.LogEntry[], last: StoredLogEntry | undefined): Pick<DeviceRead, 'fresh' | 'gap' | 'reset'> {
  if (!last) return { fresh: held, reset: false };
  const at = held.findIndex((e) => e.number === last.number && Buffer.from(e.digest).equals(Buffer.from(last.digest)));
  if (at >= 0) return { fresh: held.slice(at + 1), reset: false };
  const resetAt = held.findIndex(isResetMarker);
  if (resetAt >= 0) return { fresh: held.slice(resetAt), reset: true };
  try {
    verifyLogChain(held.slice(0, 1), { ...last });
    return { fresh: held, reset: false };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { fresh: held, reset: false, gap: `the log does not chain on from entry #${last.number} kept by the last audit (${e.message}): entries were lost or altered in between` };
  }
}

async function readDevice(connectorUrl: string, password: string, store: (serial: number) => StoredLogEntry | undefined): Promise<DeviceRead> {
  const client = new YubiHsmClient({ connectorUrl, authKeyId: authKeyOf('auditor').id, password, maxSessions: 1 });
  try {
    const log = await client.getLogEntries();
    const { serial } = await client.deviceInfo();
    return { serial, client, unloggedBoots: log.unloggedBoots, unloggedAuths: log.unloggedAuths, ...newEntries(log.entries, store(serial)) };
  } catch (e) {
    await client.close();
    if (isSessionRefusal(e)) throw new CliError(`the device at ${printable(connectorUrl)} refuses the auditor key ${hex4(authKeyOf('auditor').id)} with that password`);
    if (e instanceof ProtocolError && e.kind === 'log-chain') throw new CliError(`the device at ${printable(connectorUrl)} returned a log that does not chain: ${e.message}`);
    throw e;
  }
}

/** The operations whose records carry `deviceUses` (apps/server audit class 'usage'); no other record's summary is read. */
const DATA_KEY_OPERATIONS: ReadonlySet<string> = new Set(['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret']);

function deviceUses(summary: string | null): Record<string, number> {
  if (summary === null) return {};
  const uses = (JSON.parse(summary) as { deviceUses?: unknown }).deviceUses;
  if (typeof uses !== 'object' || uses === null) return {};
  return Object.fromEntries(Object.entries(uses).filter((e): e is [string, number] => Number.isSafeInteger(e[1]) && (e[1] as number) > 0));
}

export async function hsmAudit(opts: HsmAuditOptions, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const password = auditorPassword(opts);
  const reads: DeviceRead[] = [];
  try {
    // Device logs first, kmsgate's records second: a signature the device made before its log was
    // read has its record written by the time the records are read.
    const last = (serial: number) => withDb(io.env, (db) => new HsmLogStore(db).lastEntry(serial), { mustExist: true });
    for (const url of opts.connectors) reads.push(await readDevice(url, password, last));
    const report = withDb(io.env, (db) => {
      const logs = new HsmLogStore(db);
      const keys = new KeyStore(db);
      const state = logs.reconcileState(opts.backend);
      // A symmetric or HMAC key's object is named apart: object IDs are per object type.
      const objectOf = new Map(storedKeys(keys, opts.backend).map((k) => [k.record.keyId, keyObject(objectTypeOf(k.record.keySpec), objectIdOf(k.record))] as const));
      const recorded = new Map<number, number>();
      const count = (keyId: string | null, n: number) => {
        const id = keyId === null ? undefined : objectOf.get(keyId);
        if (id !== undefined) recorded.set(id, (recorded.get(id) ?? 0) + n);
      };
      const records = readAuditRecords(db, { afterSeq: state.auditSeq, operation: 'Sign', decision: 'accept' });
      for (const r of records) count(r.keyId, 1);
      // Each Encrypt, Decrypt, ReEncrypt and GenerateDataKey* record names the device commands it made
      // with each key (docs/audit.md, deviceUses), accepted or refused.
      for (const r of readAuditRecords(db, { afterSeq: state.auditSeq })) {
        if (!DATA_KEY_OPERATIONS.has(r.operation)) continue;
        for (const [keyId, n] of Object.entries(deviceUses(r.summary))) count(keyId, n);
      }
      const entries: DeviceLogEntry[] = reads.flatMap((d) => d.fresh.map((e) => ({ ...e, serial: d.serial })));
      const result = reconcile({ entries, recorded, carried: state.carried, kmsgateObjects: new Set(objectOf.values()) });
      const head = readAuditTail(db, 1)[0]?.seq ?? state.auditSeq;
      logs.record(entries.map((e) => ({ ...e })), opts.backend, { auditSeq: Math.max(head, state.auditSeq), carried: result.carry }, new Date());
      return { result, records: records.length };
    });
    // Kept in the store: now the device may forget them.
    for (const d of reads) {
      const newest = d.fresh[d.fresh.length - 1];
      if (newest) await d.client.setLogIndex(newest.number);
    }
    const problems = [
      ...reads.filter((d) => d.gap).map((d) => `serial ${d.serial}: ${d.gap}`),
      ...reads.filter((d) => d.unloggedBoots + d.unloggedAuths > 0).map((d) => `serial ${d.serial}: ${d.unloggedBoots} boot(s) and ${d.unloggedAuths} authentication(s) were not logged (the log was full)`),
    ];
    const unexplained = report.result.unexplained;
    if (opts.json) {
      io.stdout(`${JSON.stringify({
        ok: unexplained.length === 0 && problems.length === 0,
        devices: reads.map((d) => ({ serial: d.serial, newEntries: d.fresh.length, reset: d.reset, ...(d.gap ? { gap: d.gap } : {}), unloggedBoots: d.unloggedBoots, unloggedAuths: d.unloggedAuths })),
        matched: report.result.matched,
        kmsgateSignatures: report.records,
        unexplained: unexplained.map((u) => ({ why: u.why, entry: { ...u.entry, digest: Buffer.from(u.entry.digest).toString('hex') } })),
        problems,
      }, null, 2)}\n`);
    } else {
      for (const d of reads) io.stdout(`serial ${d.serial}: ${d.fresh.length} new log entries${d.reset ? ' (the device was reset since the last audit)' : ''}\n`);
      io.stdout(`${report.result.matched} device key use(s) matched to kmsgate's audit log\n`);
      for (const u of unexplained) io.stdout(`UNEXPLAINED: ${describeEntry(u.entry)}: ${u.why}\n`);
      for (const p of problems) io.stdout(`PROBLEM: ${p}\n`);
      if (unexplained.length === 0 && problems.length === 0) io.stdout('OK: every key use on the device is accounted for\n');
    }
    if (unexplained.length > 0 || problems.length > 0) setExitCode(1);
  } finally {
    await Promise.all(reads.map((d) => d.client.close().catch(() => undefined)));
  }
}
