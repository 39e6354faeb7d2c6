// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-log-entries.html
import { createHash } from 'node:crypto';
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.GET_LOG_ENTRIES;

/** Entry number(2) command(1) length(2) session key(2) target(2) second(2) result(1) tick(4) digest(16). */
export const LOG_ENTRY_LENGTH = 32;
/** The part of an entry the digest covers: everything but the digest. */
export const LOG_ENTRY_DATA_LENGTH = 16;
export const LOG_DIGEST_LENGTH = 16;
/** "No object" in the session-key, target and second-key fields (Get Log Entries page example). */
export const NO_OBJECT = 0xffff;

export interface LogEntryData {
  /** Consecutive modulo 2^16. */
  number: number;
  /** The command code; 0x00 marks a boot, 0xff (with every field 0xff) a factory reset. */
  command: number;
  /** The command's payload length (Lc). */
  length: number;
  /** Authentication key of the session, NO_OBJECT outside a session. */
  sessionKey: number;
  targetKey: number;
  secondKey: number;
  /** `command | 0x80` on success, otherwise the device error code. */
  result: number;
  /** The device's system tick when the command ran. */
  tick: number;
}

export interface LogEntry extends LogEntryData {
  /** `SHA-256(data || previous digest)` truncated to 16 bytes. */
  digest: Uint8Array;
}

export type Request = Empty;

export interface Response {
  /** Boots not logged because the log was full while force audit was on. */
  unloggedBoots: number;
  /** Session authentications not logged for the same reason. */
  unloggedAuths: number;
  entries: LogEntry[];
}

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;

/** The 16 bytes an entry's digest covers. */
export function encodeLogEntryData(e: LogEntryData): Uint8Array {
  return new WireWriter()
    .u16(e.number, 'number')
    .u8(e.command, 'command')
    .u16(e.length, 'length')
    .u16(e.sessionKey, 'sessionKey')
    .u16(e.targetKey, 'targetKey')
    .u16(e.secondKey, 'secondKey')
    .u8(e.result, 'result')
    .u32(e.tick, 'tick')
    .finish();
}

/**
 * The hash chain: `trunc16(SHA-256(entry data || previous entry's 16-byte digest))`, as
 * python-yubihsm's `LogEntry.validate` checks it and as the Get Log Entries page's example
 * entries 46-51 chain. (The page's prose formula hashes the previous entry again; its own example
 * and every client follow this one.) The first entry after a factory reset is chained to a random
 * value, so it can only be checked from the entry after it.
 */
export function logEntryDigest(data: Uint8Array, previousDigest: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(data).update(previousDigest).digest();
  return new Uint8Array(h.buffer, h.byteOffset, LOG_DIGEST_LENGTH).slice();
}

export function encodeResponse(res: Response): Uint8Array {
  const w = new WireWriter().u16(res.unloggedBoots, 'unloggedBoots').u16(res.unloggedAuths, 'unloggedAuths').u8(res.entries.length, 'entries.length');
  for (const e of res.entries) w.bytes(encodeLogEntryData(e)).fixedBytes(e.digest, LOG_DIGEST_LENGTH, 'digest');
  return w.finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const unloggedBoots = r.u16();
  const unloggedAuths = r.u16();
  const count = r.u8();
  const entries: LogEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      number: r.u16(),
      command: r.u8(),
      length: r.u16(),
      sessionKey: r.u16(),
      targetKey: r.u16(),
      secondKey: r.u16(),
      result: r.u8(),
      tick: r.u32(),
      digest: r.bytes(LOG_DIGEST_LENGTH),
    });
  }
  r.end();
  return { unloggedBoots, unloggedAuths, entries };
}
