/**
 * The device log as a second witness: every key use the device logged must match a signature
 * kmsgate recorded in its own audit log. Pure; `kmsgate hsm audit` feeds it what it read.
 *
 * kmsgate's records and the device's entries share no identifier (an entry holds the command, the
 * session's authentication key, the object and a device tick), so they are matched by count, per
 * object, in order: the i-th SIGN_* on object T since the last reconciliation answers the i-th
 * accepted Sign kmsgate recorded for the key on T. More device signatures than records means
 * someone signed outside kmsgate. Fewer is expected for a moment (a signature kmsgate recorded
 * after the device log was read appears in the next read), so a surplus of records is carried to
 * the next reconciliation, once; older surplus is dropped, so it can never hide a later signature.
 * WRAP_DATA and UNWRAP_DATA on a kmsgate symmetric key's wrap-key object, and SIGN_HMAC on an
 * HMAC key's object, are matched the same way against the device uses kmsgate recorded for its
 * Encrypt, Decrypt, ReEncrypt, GenerateDataKey* and GenerateMac requests (docs/audit.md,
 * `deviceUses`; VERIFY_HMAC reveals nothing and is not logged), and DERIVE_ECDH on an asymmetric
 * key against DeriveSharedSecret's. Any other successful key use (decryption, attestation) on a kmsgate key is unexplained: kmsgate never sends those.
 *
 * Object IDs are per object type, so objects of different types may share an ID: the maps below
 * name an object by keyObject(type, id).
 */
import { Command, ObjectType, commandName, responseCode } from '../codes';
import type { LogEntry, LogEntryData } from '../commands/get-log-entries';

/**
 * The commands kmsgate sends with its keys, by the type of object each acts on, and what an
 * unrecorded one is called: a Sign's signature, a symmetric key's data wrap (Encrypt, Decrypt, …),
 * an HMAC key's MAC (GenerateMac, VerifyMac), an RSA key's decryption (Decrypt).
 */
type KmsgateUse = { type: number; unrecorded: Unexplained['why'] };
const KMSGATE_USES: ReadonlyMap<number, KmsgateUse> = new Map<number, KmsgateUse>([
  ...[Command.SIGN_ECDSA, Command.SIGN_EDDSA, Command.SIGN_PKCS1, Command.SIGN_PSS].map(
    (c) => [c, { type: ObjectType.ASYMMETRIC_KEY, unrecorded: 'signature not recorded by kmsgate' }] as const,
  ),
  ...[Command.WRAP_DATA, Command.UNWRAP_DATA].map((c) => [c, { type: ObjectType.WRAP_KEY, unrecorded: 'data wrap not recorded by kmsgate' }] as const),
  [Command.SIGN_HMAC, { type: ObjectType.HMAC_KEY, unrecorded: 'MAC not recorded by kmsgate' }],
  [Command.DERIVE_ECDH, { type: ObjectType.ASYMMETRIC_KEY, unrecorded: 'shared secret not recorded by kmsgate' }],
  [Command.DECRYPT_OAEP, { type: ObjectType.ASYMMETRIC_KEY, unrecorded: 'decryption not recorded by kmsgate' }],
]);
/** Key uses kmsgate never sends. */
const OTHER_USES: ReadonlySet<number> = new Set([Command.DECRYPT_PKCS1, Command.SIGN_ATTESTATION_CERTIFICATE, Command.SIGN_SSH_CERTIFICATE]);

/** An object's name in the maps of ReconcileInput: an asymmetric key by its ID, any other object outside the 16-bit ID range. */
export function keyObject(type: number, id: number): number {
  return type === ObjectType.ASYMMETRIC_KEY ? id : type * 0x10000 + id;
}

export interface DeviceLogEntry extends LogEntry {
  /** Which device logged it. */
  serial: number;
}

export interface ReconcileInput {
  /** Entries read since the last reconciliation, in log order per device. */
  entries: readonly DeviceLogEntry[];
  /**
   * Object (keyObject(type, id)) → device uses kmsgate recorded since the last reconciliation for
   * the key on it: accepted Signs, and the deviceUses of the other key-use records.
   */
  recorded: ReadonlyMap<number, number>;
  /** Object → records the previous reconciliation could not match yet. */
  carried: ReadonlyMap<number, number>;
  /** kmsgate's keys' objects, named as in `recorded` (uses of other objects are not kmsgate's business). */
  kmsgateObjects: ReadonlySet<number>;
}

export interface Unexplained {
  entry: DeviceLogEntry;
  why:
    | 'signature not recorded by kmsgate'
    | 'data wrap not recorded by kmsgate'
    | 'MAC not recorded by kmsgate'
    | 'shared secret not recorded by kmsgate'
    | 'decryption not recorded by kmsgate'
    | 'key use kmsgate never makes';
}

export interface ReconcileResult {
  /** Device signatures matched to kmsgate records. */
  matched: number;
  unexplained: Unexplained[];
  /** To pass as `carried` next time. */
  carry: Map<number, number>;
}

function succeeded(e: LogEntryData): boolean {
  return e.result === responseCode(e.command);
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const signs = new Map<number, DeviceLogEntry[]>();
  const unexplained: Unexplained[] = [];
  for (const e of input.entries) {
    if (!succeeded(e)) continue;
    const use = KMSGATE_USES.get(e.command);
    const object = keyObject(use?.type ?? ObjectType.ASYMMETRIC_KEY, e.targetKey);
    if (!input.kmsgateObjects.has(object)) continue;
    if (use) signs.set(object, [...(signs.get(object) ?? []), e]);
    else if (OTHER_USES.has(e.command)) unexplained.push({ entry: e, why: 'key use kmsgate never makes' });
  }
  let matched = 0;
  const carry = new Map<number, number>();
  const objects = new Set([...signs.keys(), ...input.recorded.keys()]);
  for (const id of objects) {
    const device = signs.get(id) ?? [];
    const fresh = input.recorded.get(id) ?? 0;
    const available = fresh + (input.carried.get(id) ?? 0);
    matched += Math.min(device.length, available);
    // The records that match nothing here are carried once: only this run's own, never older ones.
    const spare = Math.min(available - Math.min(device.length, available), fresh);
    if (spare > 0) carry.set(id, spare);
    for (const e of device.slice(available)) unexplained.push({ entry: e, why: KMSGATE_USES.get(e.command)!.unrecorded });
  }
  unexplained.sort((a, b) => a.entry.serial - b.entry.serial || a.entry.number - b.entry.number);
  return { matched, unexplained, carry };
}

/** One line for an operator: `serial 1234567 entry #57: SIGN_ECDSA on object 0x0011 by authentication key 0x0004 (tick 8812)`. */
export function describeEntry(e: DeviceLogEntry): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
  return `serial ${e.serial} entry #${e.number}: ${commandName(e.command)} on object ${hex(e.targetKey)} by authentication key ${hex(e.sessionKey)} (tick ${e.tick})`;
}
