/**
 * Reading a device's own log for the reconciliation (reconcile.ts): the entries since the last one
 * kept (by `kmsgate hsm audit` or the gateway's periodic run), and whether they chain on from it.
 * The device forgets entries only when told to (SET_LOG_INDEX), which the caller does once it has
 * kept them.
 */
import type { YubiHsmClient } from '../client';
import type { LogEntry, LogEntryData } from '../commands/get-log-entries';
import { ProtocolError } from '../errors';
import { verifyLogChain } from '../audit-chain';

/** What was kept of a device's last entry: enough to find it again and to check the chain. */
export interface KeptLogEntry extends LogEntryData {
  digest: Uint8Array;
}

export interface DeviceLogRead {
  serial: number;
  /** Entries after the last kept one, in log order. */
  fresh: LogEntry[];
  unloggedBoots: number;
  unloggedAuths: number;
  /** Why the new entries do not chain on from the last kept one, if they do not. */
  gap?: string;
  /** The device was factory reset since the last kept entry. */
  reset: boolean;
}

/** After a factory reset the log starts again at entry 1, every field 0xff (Get Log Entries page). */
function isResetMarker(e: LogEntryData): boolean {
  return e.number === 1 && e.command === 0xff && e.targetKey === 0xffff && e.sessionKey === 0xffff;
}

function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The entries after `last` and whether they chain on from it. */
export function entriesAfter(held: LogEntry[], last: KeptLogEntry | undefined): Pick<DeviceLogRead, 'fresh' | 'gap' | 'reset'> {
  if (!last) return { fresh: held, reset: false };
  const at = held.findIndex((e) => e.number === last.number && sameDigest(e.digest, last.digest));
  if (at >= 0) return { fresh: held.slice(at + 1), reset: false };
  const resetAt = held.findIndex(isResetMarker);
  if (resetAt >= 0) return { fresh: held.slice(resetAt), reset: true };
  try {
    verifyLogChain(held.slice(0, 1), { ...last });
    return { fresh: held, reset: false };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return {
      fresh: held,
      reset: false,
      gap: `the log does not chain on from entry #${last.number} kept by the last audit (${e.message}): entries were lost or altered in between`,
    };
  }
}

/** Reads the log of the device `client` reaches (a session with the auditor key). */
export async function readDeviceLog(
  client: YubiHsmClient,
  lastKept: (serial: number) => KeptLogEntry | undefined | Promise<KeptLogEntry | undefined>,
): Promise<DeviceLogRead> {
  const log = await client.getLogEntries();
  const { serial } = await client.deviceInfo();
  return { serial, unloggedBoots: log.unloggedBoots, unloggedAuths: log.unloggedAuths, ...entriesAfter(log.entries, await lastKept(serial)) };
}

/** Problems beside unexplained key uses: a log that does not chain, and events the full log could not record. */
export function logProblems(reads: readonly DeviceLogRead[]): string[] {
  return [
    ...reads.filter((d) => d.gap).map((d) => `serial ${d.serial}: ${d.gap}`),
    ...reads
      .filter((d) => d.unloggedBoots + d.unloggedAuths > 0)
      .map((d) => `serial ${d.serial}: ${d.unloggedBoots} boot(s) and ${d.unloggedAuths} authentication(s) were not logged (the log was full)`),
  ];
}
