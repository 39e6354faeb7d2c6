/**
 * `kmsgate hsm audit`: reads each device's own log with the auditor key, checks that it chains on
 * from what the previous run kept, keeps the new entries in the store, reconciles them with
 * kmsgate's audit log (packages/yubihsm/src/ceremony/reconcile.ts), and only then releases them on
 * the device (SET_LOG_INDEX), which is what lets a device with force audit on keep working.
 * Exit 1 when the device did something kmsgate did not record, or its log does not chain.
 */
import { DEVICE_LOG_LEASE_MS, type StoredLogEntry } from '@kmsgate/store';
import {
  type DeviceLogEntry,
  type DeviceLogRead,
  ProtocolError,
  YubiHsmClient,
  authKeyOf,
  describeEntry,
  isSessionRefusal,
  keyObject,
  logProblems,
  readDeviceLog,
  reconcile,
} from '@kmsgate/yubihsm';
import { CliError, printable, withStore, type CliIo } from '../context';
import { deviceObjectsOf, storedKeys } from './stored-keys';
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

interface DeviceRead extends DeviceLogRead {
  client: YubiHsmClient;
}

function auditorPassword(opts: HsmAuditOptions): string {
  if ((opts.mnemonicFile === undefined) === (opts.passwordFile === undefined))
    throw new CliError("give exactly one of --mnemonic-file or --password-file (the auditor's password)");
  if (opts.passwordFile !== undefined) return readSecretFile(opts.passwordFile, 'password file').replace(/\r?\n$/, '');
  const secrets = loadSecrets(opts.mnemonicFile!);
  try {
    return secrets.password('auditor');
  } finally {
    secrets.wipe();
  }
}

async function readDevice(connectorUrl: string, password: string, store: (serial: number) => Promise<StoredLogEntry | undefined>): Promise<DeviceRead> {
  const client = new YubiHsmClient({ connectorUrl, authKeyId: authKeyOf('auditor').id, password, maxSessions: 1 });
  try {
    return { ...(await readDeviceLog(client, store)), client };
  } catch (e) {
    await client.close();
    if (isSessionRefusal(e))
      throw new CliError(`the device at ${printable(connectorUrl)} refuses the auditor key ${hex4(authKeyOf('auditor').id)} with that password`);
    if (e instanceof ProtocolError && e.kind === 'log-chain')
      throw new CliError(`the device at ${printable(connectorUrl)} returned a log that does not chain: ${e.message}`);
    throw e;
  }
}

export async function hsmAudit(opts: HsmAuditOptions, io: CliIo, setExitCode: (code: number) => void): Promise<void> {
  const password = auditorPassword(opts);
  await withStore(io.env, { sealKey: false }, async (store) => {
    const reads: DeviceRead[] = [];
    // A gateway's device-log witness, or another run of this command, may be reading the same devices: one at a time (DeviceLogRepository).
    const holder = `kmsgate hsm audit ${process.pid}`;
    if (!(await store.deviceLogs.takeLease(opts.backend, holder, DEVICE_LOG_LEASE_MS)))
      throw new CliError(`a gateway's device-log witness is reading backend '${opts.backend}' now; run this again in a minute`);
    try {
      // Device logs first, kmsgate's records second: a signature the device made before its log was
      // read has its record written by the time the records are read.
      for (const url of opts.connectors) reads.push(await readDevice(url, password, (serial) => store.deviceLogs.lastEntry(serial)));
      // A symmetric or HMAC key's object is named apart: object IDs are per object type.
      const objectOf = new Map(
        (await storedKeys(store, opts.backend)).flatMap((k) =>
          deviceObjectsOf(k).map(([name, id]) => [name, keyObject(objectTypeOf(k.record.keySpec), id)] as const),
        ),
      );
      const entries: DeviceLogEntry[] = reads.flatMap((d) => d.fresh.map((e) => ({ ...e, serial: d.serial })));
      const report = await store.deviceLogs.reconcileRound(opts.backend, holder, entries, objectOf, new Date(), (recorded, carried) =>
        reconcile({ entries, recorded, carried, kmsgateObjects: new Set(objectOf.values()) }),
      );
      // Kept in the store: now the device may forget them.
      for (const d of reads) {
        const newest = d.fresh[d.fresh.length - 1];
        if (newest) await d.client.setLogIndex(newest.number);
      }
      const problems = logProblems(reads);
      const unexplained = report.result.unexplained;
      if (opts.json) {
        io.stdout(
          `${JSON.stringify(
            {
              ok: unexplained.length === 0 && problems.length === 0,
              devices: reads.map((d) => ({
                serial: d.serial,
                newEntries: d.fresh.length,
                reset: d.reset,
                ...(d.gap ? { gap: d.gap } : {}),
                unloggedBoots: d.unloggedBoots,
                unloggedAuths: d.unloggedAuths,
              })),
              matched: report.result.matched,
              kmsgateSignatures: report.records,
              unexplained: unexplained.map((u) => ({ why: u.why, entry: { ...u.entry, digest: Buffer.from(u.entry.digest).toString('hex') } })),
              problems,
            },
            null,
            2,
          )}\n`,
        );
      } else {
        for (const d of reads)
          io.stdout(`serial ${d.serial}: ${d.fresh.length} new log entries${d.reset ? ' (the device was reset since the last audit)' : ''}\n`);
        io.stdout(`${report.result.matched} device key use(s) matched to kmsgate's audit log\n`);
        for (const u of unexplained) io.stdout(`UNEXPLAINED: ${describeEntry(u.entry)}: ${u.why}\n`);
        for (const p of problems) io.stdout(`PROBLEM: ${p}\n`);
        if (unexplained.length === 0 && problems.length === 0) io.stdout('OK: every key use on the device is accounted for\n');
      }
      if (unexplained.length > 0 || problems.length > 0) setExitCode(1);
    } finally {
      await Promise.all(reads.map((d) => d.client.close().catch(() => undefined)));
      await store.deviceLogs.dropLease(opts.backend, holder);
    }
  });
}
