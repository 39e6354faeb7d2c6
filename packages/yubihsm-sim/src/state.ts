// Persistence of the simulated device to a JSON file.
//
// THIS FILE HOLDS PRIVATE KEYS IN THE CLEAR. It is a simulator: a real YubiHSM 2 never lets key
// material out except wrapped. The file is written with mode 0600, but anyone who can read it owns
// every key in it. Never point a production deployment at the simulator.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@kmsgate/core';
import { GetLogEntries, LABEL_LENGTH } from '@kmsgate/yubihsm';
import type { AuditLogSnapshot } from './audit-log';
import type { SettingsSnapshot } from './device-settings';
import type { ObjectStoreSnapshot, StoredObject } from './object-store';

const FORMAT = 'kmsgate-yubihsm-sim/1';

export interface PersistedState {
  serial: number;
  /** The device key's private scalar (device-key.ts); absent in files from before it existed. */
  devicePrivateKey?: Uint8Array;
  store: ObjectStoreSnapshot;
  settings: SettingsSnapshot;
  log: AuditLogSnapshot;
}

interface ObjectJson {
  id: number;
  type: number;
  algorithm: number;
  label: string;
  domains: number;
  capabilities: string;
  delegatedCapabilities: string;
  sequence: number;
  origin: number;
  secret: string;
}

interface SettingsJson {
  forceAudit: number;
  /** [command, setting] for every command whose audit is not off. */
  commandAudit: Array<[number, number]>;
  disabledAlgorithms: number[];
}

interface LogJson {
  /** Each entry as its 32 wire bytes, hex. */
  entries: string[];
  nextNumber: number;
  lastDigest: string;
  unloggedBoots: number;
  unloggedAuths: number;
}

/** `settings` and `log` are absent in files written before the audit log existed: defaults then. */
interface StateJson {
  format: typeof FORMAT;
  note: string;
  serial: number;
  devicePrivateKey?: string;
  objects: ObjectJson[];
  sequences: Array<[string, number]>;
  settings?: SettingsJson;
  log?: LogJson;
}

/** Reads the state file; undefined when it does not exist yet. A corrupt file is an error, not a reset. */
export function loadState(path: string): PersistedState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return parseState(JSON.parse(text) as unknown);
  } catch (err) {
    throw new Error(`yubihsm-sim: state file ${path} is not valid: ${(err as Error).message}`);
  }
}

/**
 * Replaces the state file atomically: a reader (or a crash) sees either the old or the new file,
 * never half of one.
 */
export function saveState(path: string, state: PersistedState): void {
  const json: StateJson = {
    format: FORMAT,
    note: 'yubihsm-sim state: contains private keys in the clear; simulator use only',
    serial: state.serial,
    ...(state.devicePrivateKey !== undefined && { devicePrivateKey: toHex(state.devicePrivateKey) }),
    objects: state.store.objects.map(objectToJson),
    sequences: state.store.sequences.map(([k, v]) => [k, v]),
    settings: {
      forceAudit: state.settings.forceAudit,
      commandAudit: state.settings.commandAudit.map(([k, v]) => [k, v]),
      disabledAlgorithms: [...state.settings.disabledAlgorithms],
    },
    log: {
      entries: state.log.entries.map((e) => toHex(entryBytes(e))),
      nextNumber: state.log.nextNumber,
      lastDigest: toHex(state.log.lastDigest),
      unloggedBoots: state.log.unloggedBoots,
      unloggedAuths: state.log.unloggedAuths,
    },
  };
  writeFileAtomic(path, JSON.stringify(json, null, 2) + '\n');
}

function objectToJson(o: StoredObject): ObjectJson {
  return {
    id: o.id,
    type: o.type,
    algorithm: o.algorithm,
    label: toHex(o.label),
    domains: o.domains,
    capabilities: o.capabilities.toString(16),
    delegatedCapabilities: o.delegatedCapabilities.toString(16),
    sequence: o.sequence,
    origin: o.origin,
    secret: toHex(o.secret),
  };
}

function parseState(raw: unknown): PersistedState {
  const root = record(raw, 'state');
  if (root.format !== FORMAT) throw new Error(`format must be "${FORMAT}"`);
  const serial = uint(root.serial, 'serial', 0xffffffff);
  const objects = array(root.objects, 'objects').map((o, i) => parseObject(o, `objects[${i}]`));
  const sequences = array(root.sequences, 'sequences').map((entry, i): [string, number] => {
    const pair = array(entry, `sequences[${i}]`);
    if (pair.length !== 2 || typeof pair[0] !== 'string') throw new Error(`sequences[${i}] must be [key, number]`);
    return [pair[0], uint(pair[1], `sequences[${i}][1]`, 0xff)];
  });
  const state: PersistedState = { serial, store: { objects, sequences }, settings: parseSettings(root.settings), log: parseLog(root.log) };
  if (root.devicePrivateKey !== undefined) {
    const key = fromHex(root.devicePrivateKey, 'devicePrivateKey');
    if (key.length !== 32) throw new Error('devicePrivateKey must be 32 bytes');
    state.devicePrivateKey = key;
  }
  return state;
}

const DEFAULT_SETTINGS: SettingsSnapshot = { forceAudit: 0, commandAudit: [], disabledAlgorithms: [] };

function parseSettings(raw: unknown): SettingsSnapshot {
  if (raw === undefined) return DEFAULT_SETTINGS;
  const o = record(raw, 'settings');
  return {
    forceAudit: uint(o.forceAudit, 'settings.forceAudit', 2),
    commandAudit: array(o.commandAudit, 'settings.commandAudit').map((entry, i): [number, number] => {
      const pair = array(entry, `settings.commandAudit[${i}]`);
      if (pair.length !== 2) throw new Error(`settings.commandAudit[${i}] must be [command, setting]`);
      return [uint(pair[0], `settings.commandAudit[${i}][0]`, 0xff), uint(pair[1], `settings.commandAudit[${i}][1]`, 2)];
    }),
    disabledAlgorithms: array(o.disabledAlgorithms, 'settings.disabledAlgorithms').map((a, i) => uint(a, `settings.disabledAlgorithms[${i}]`, 0xff)),
  };
}

/** A file from before the audit log: an empty log whose first entry (the boot entry) chains to zeros. */
function parseLog(raw: unknown): AuditLogSnapshot {
  if (raw === undefined) {
    return { entries: [], nextNumber: 1, lastDigest: new Uint8Array(GetLogEntries.LOG_DIGEST_LENGTH), unloggedBoots: 0, unloggedAuths: 0 };
  }
  const o = record(raw, 'log');
  const entries = array(o.entries, 'log.entries').map((e, i) => {
    const bytes = fromHex(e, `log.entries[${i}]`);
    if (bytes.length !== GetLogEntries.LOG_ENTRY_LENGTH) throw new Error(`log.entries[${i}] must be ${GetLogEntries.LOG_ENTRY_LENGTH} bytes`);
    return GetLogEntries.decodeResponse(Uint8Array.of(0, 0, 0, 0, 1, ...bytes)).entries[0]!;
  });
  const lastDigest = fromHex(o.lastDigest, 'log.lastDigest');
  if (lastDigest.length !== GetLogEntries.LOG_DIGEST_LENGTH) throw new Error(`log.lastDigest must be ${GetLogEntries.LOG_DIGEST_LENGTH} bytes`);
  return {
    entries,
    nextNumber: uint(o.nextNumber, 'log.nextNumber', 0xffff),
    lastDigest,
    unloggedBoots: uint(o.unloggedBoots, 'log.unloggedBoots', 0xffff),
    unloggedAuths: uint(o.unloggedAuths, 'log.unloggedAuths', 0xffff),
  };
}

/** One entry in its 32-byte wire form (as GET_LOG_ENTRIES sends it). */
function entryBytes(e: GetLogEntries.LogEntry): Uint8Array {
  return GetLogEntries.encodeResponse({ unloggedBoots: 0, unloggedAuths: 0, entries: [e] }).subarray(5);
}

function parseObject(raw: unknown, field: string): StoredObject {
  const o = record(raw, field);
  const label = fromHex(o.label, `${field}.label`);
  if (label.length !== LABEL_LENGTH) throw new Error(`${field}.label must be ${LABEL_LENGTH} bytes`);
  return {
    id: uint(o.id, `${field}.id`, 0xffff),
    type: uint(o.type, `${field}.type`, 0xff),
    algorithm: uint(o.algorithm, `${field}.algorithm`, 0xff),
    label,
    domains: uint(o.domains, `${field}.domains`, 0xffff),
    capabilities: bits64(o.capabilities, `${field}.capabilities`),
    delegatedCapabilities: bits64(o.delegatedCapabilities, `${field}.delegatedCapabilities`),
    sequence: uint(o.sequence, `${field}.sequence`, 0xff),
    origin: uint(o.origin, `${field}.origin`, 0xff),
    secret: fromHex(o.secret, `${field}.secret`),
  };
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${field} must be an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${field} must be an array`);
  return v;
}

function uint(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${field} must be an integer in 0..${max}`);
  return v;
}

function bits64(v: unknown, field: string): bigint {
  if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/.test(v)) throw new Error(`${field} must be up to 16 hex digits`);
  return BigInt(`0x${v}`);
}

function fromHex(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) throw new Error(`${field} must be lowercase hex`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
