/**
 * `kmsgate hsm restore FILE`: imports the keys of a backup (with every key material of a rotated
 * symmetric key) onto a device set up from the same mnemonic, checks each one is the key recorded (its public key; for a symmetric key, its wrap-key
 * object and label), and adopts their metadata into the store.
 *
 * Everything that can be checked is checked before anything is imported: the file (MAC,
 * mnemonic), the store (the backup against what the store knows now), the device (keyadmin, wrap
 * key, and every object ID: free, or already holding exactly that key). Each import is atomic on
 * the device and verified right after; the store changes only at the end, in one transaction, once
 * every key is on the device. A run cut short (connector gone) leaves only whole, correct objects on
 * the device and an unchanged store, and the next run skips what is already there.
 */
import { readFileSync } from 'node:fs';
import type { KeyState, KeyUsageValue, OriginValue, SupportedKeySpec } from '@kmsgate/core';
import type { GatewayStore } from '@kmsgate/store';
import {
  BACKUP_WRAP_KEY,
  BackupFileError,
  Capability,
  type BackupBody,
  type BackupKey,
  DeviceError,
  DeviceErrorCode,
  type YubiHsmClient,
  capabilityNames,
  closing,
  openBackup,
  roleClient,
} from '@kmsgate/yubihsm';
import { CliError, auditCliChange, printable, withStore, type CliIo } from '../context';
import { storedKeys } from './stored-keys';
import { hex4, loadSecrets, progressPrinter } from './ceremony-input';
import { checkWrapKey, keyAdminSession, sameBytes } from './device-checks';
import { holdsKey, objectTypeOf } from './key-objects';

/** CreateAlias's limit (apps/server/src/operations/alias-name.ts): the aliases of a backup are within it. */
const MAX_ALIASES_PER_KEY = 50;

export interface RestoreOptions {
  file: string;
  connector: string;
  mnemonicFile: string;
  /** Restore even though the store holds keys of the backend that the backup lacks. */
  allowMissing: boolean;
}

interface Plan {
  /** In the backup and in the store: only the device copy is restored; the store's metadata is newer or equal. */
  known: BackupKey[];
  /** In the backup only: restored to the device and adopted into the store. */
  adopt: BackupKey[];
  /** In the backup, gone from the store after changes recorded since the backup: not restored. */
  changedSince: { key: BackupKey; operation: string; seq: number }[];
}

function readBackup(file: string, secrets: Parameters<typeof openBackup>[1]): BackupBody {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read backup file ${printable(file)}: ${(e as Error).message}`);
  }
  try {
    return openBackup(text, secrets);
  } catch (e) {
    if (e instanceof BackupFileError) throw new CliError(`${printable(file)}: ${e.message}`);
    throw e;
  }
}

/** Compares the backup with the store; throws CliError when they contradict each other. */
async function plan(store: GatewayStore, body: BackupBody, allowMissing: boolean): Promise<Plan> {
  const stored = await storedKeys(store, body.backendId);
  const result: Plan = { known: [], adopt: [], changedSince: [] };
  for (const k of body.keys) {
    const record = store.keys.getKey(k.keyId);
    if (record) {
      if (record.backendId !== body.backendId || record.keySpec !== k.keySpec || !sameBytes(record.publicKey, Buffer.from(k.publicKey, 'base64'))) {
        throw new CliError(`key ${k.keyId} in the store is another key than in the backup (backend, key spec or public key differ); nothing was restored`);
      }
      result.known.push(k);
      continue;
    }
    const later = await store.audit.records({ afterSeq: body.auditHead.seq, keyId: k.keyId, decision: 'admin' });
    if (later.length > 0) {
      const last = later[later.length - 1]!;
      result.changedSince.push({ key: k, operation: last.operation, seq: last.seq });
    } else {
      result.adopt.push(k);
    }
  }
  const inBackup = new Set(body.keys.map((k) => k.keyId));
  // A key rotated after the backup counts as missing too: its newer key materials are not in it.
  const materialsIn = new Map(body.keys.map((k) => [k.keyId, k.materials?.length ?? 0]));
  const newer = stored.filter((s) => !inBackup.has(s.record.keyId) || s.rotations.length > materialsIn.get(s.record.keyId)!);
  if (newer.length > 0 && !allowMissing) {
    throw new CliError(
      `the backup (made ${body.createdAt}) is older than the store: ${newer.length} key(s) of backend ${body.backendId} are not in it ` +
        `(${newer
          .slice(0, 5)
          .map((s) => s.record.keyId)
          .join(', ')}${newer.length > 5 ? ', …' : ''}); use a newer backup, or --allow-missing to restore the rest`,
    );
  }
  return result;
}

type DeviceState = 'absent' | 'present';

/** One device object of the backup: a key's first material, or a rotated one of a symmetric key. */
interface BackupObject {
  key: BackupKey;
  objectId: number;
  capabilities: string;
  wrapped: string;
  /** '' for the first material, ` (key material version N)` for a rotated one: for messages. */
  what: string;
}

function objectsOf(k: BackupKey): BackupObject[] {
  return [
    { key: k, objectId: k.objectId, capabilities: k.capabilities, wrapped: k.wrapped, what: '' },
    ...(k.materials ?? []).map((m) => ({
      key: k,
      objectId: m.objectId,
      capabilities: m.capabilities,
      wrapped: m.wrapped,
      what: ` (key material version ${m.version})`,
    })),
  ];
}

async function deviceState(keyadmin: YubiHsmClient, o: BackupObject): Promise<DeviceState> {
  try {
    await keyadmin.getObjectInfo(o.objectId, objectTypeOf(o.key.keySpec));
  } catch (e) {
    if (e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND) return 'absent';
    throw e;
  }
  if (!(await holds(keyadmin, o))) {
    throw new CliError(`object ${hex4(o.objectId)} on the device holds another key than key ${o.key.keyId}${o.what}; nothing was imported`);
  }
  return 'present';
}

function holds(session: YubiHsmClient, o: BackupObject): Promise<boolean> {
  const k = o.key;
  return holdsKey(session, o.objectId, { keyId: k.keyId, keySpec: k.keySpec, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')) });
}

export async function restore(opts: RestoreOptions, io: CliIo): Promise<void> {
  const secrets = loadSecrets(opts.mnemonicFile);
  try {
    const body = readBackup(opts.file, secrets);
    const p = await withStore(io.env, { sealKey: false }, (store) => plan(store, body, opts.allowMissing));
    const toDevice = [...p.known, ...p.adopt].flatMap(objectsOf);
    const say = progressPrinter(io);
    const total = 3 + toDevice.length + 1;
    const keyadmin = roleClient({ connectorUrl: opts.connector }, 'keyadmin', secrets);
    const { serial, imported } = await closing([keyadmin], async () => {
      say(1, total, 'opening a session with the key admin key 0x0003');
      const info = await keyAdminSession(keyadmin, secrets);
      say(2, total, `checking the backup wrap key ${hex4(BACKUP_WRAP_KEY.id)}`);
      const wrap = await checkWrapKey(keyadmin, secrets, Capability.IMPORT_WRAPPED);
      for (const o of toDevice) {
        const missing = BigInt(`0x${o.capabilities}`) & ~wrap.delegatedCapabilities;
        if (missing !== 0n) {
          throw new CliError(
            `the backup wrap key's delegated capabilities do not cover key ${o.key.keyId}${o.what}: it lacks ${capabilityNames(missing).join(', ')}; nothing was imported`,
          );
        }
      }
      say(3, total, `checking object IDs on the device (serial ${info.serial})`);
      const states: DeviceState[] = [];
      for (const o of toDevice) states.push(await deviceState(keyadmin, o));
      let count = 0;
      for (const [i, o] of toDevice.entries()) {
        const k = o.key;
        if (states[i] === 'present') {
          say(4 + i, total, `key ${k.keyId}${o.what} is already on the device (object ${hex4(o.objectId)}, the same key)`);
          continue;
        }
        say(4 + i, total, `importing key ${k.keyId}${o.what} (object ${hex4(o.objectId)})`);
        const res = await keyadmin.importWrapped(BACKUP_WRAP_KEY.id, new Uint8Array(Buffer.from(o.wrapped, 'base64')));
        if (res.type !== objectTypeOf(k.keySpec) || res.id !== o.objectId || !(await holds(keyadmin, o))) {
          await keyadmin.deleteObject(res.id, res.type).catch(() => undefined);
          throw new CliError(`the imported object for key ${k.keyId}${o.what} is not the key in the backup; it was deleted again`);
        }
        count++;
      }
      return { serial: info.serial, imported: count };
    });
    say(total, total, 'adopting the keys into the store');
    const adopted = await withStore(io.env, { sealKey: false }, (store) => adopt(store, io.env, body, p, serial));
    io.stdout(
      `restored backend ${body.backendId} onto YubiHSM 2 serial ${serial}: ${imported} key object(s) imported, ${toDevice.length - imported} already there, ` +
        `${adopted} adopted into the store\n`,
    );
    for (const c of p.changedSince) {
      io.stderr(`not restored: key ${c.key.keyId}, gone from the store after the backup (audit record ${c.seq}: ${c.operation})\n`);
    }
  } finally {
    secrets.wipe();
  }
}

async function adopt(store: GatewayStore, env: NodeJS.ProcessEnv, body: BackupBody, p: Plan, serial: number): Promise<number> {
  const materialsOf = (k: BackupKey) =>
    (k.materials ?? []).map((m) => ({ version: m.version, handle: `${serial}:${m.objectId}`, rotatedAt: new Date(m.rotatedAt), rotationType: m.rotationType }));
  // One transaction: a known key's materials the store lacks (a store older than the backup), then
  // each adopted key with its own, unless another restore adopted it since the plan.
  const adopted = await store.keys.adoptKeys(
    p.adopt.map((k) => ({
      record: {
        keyId: k.keyId,
        createdAt: new Date(k.createdAt),
        description: k.description,
        keyUsage: k.keyUsage as KeyUsageValue,
        keySpec: k.keySpec as SupportedKeySpec,
        keyState: k.keyState as KeyState,
        origin: k.origin as OriginValue,
        backendId: body.backendId,
        handle: `${serial}:${k.objectId}`,
        publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')),
        ...(k.deletionDate ? { deletionDate: new Date(k.deletionDate) } : {}),
        ...(k.policy !== undefined ? { policy: k.policy } : {}),
      },
      tags: k.tags,
      aliases: k.aliases,
      materials: materialsOf(k),
      ...(k.rotation ? { schedule: { periodDays: k.rotation.periodDays, anchorAt: new Date(k.rotation.anchorAt) } } : {}),
    })),
    p.known.map((k) => ({ keyId: k.keyId, materials: materialsOf(k) })),
    new Date(),
    MAX_ALIASES_PER_KEY,
  );
  // Written after the change it records (the audit log appends in its own transaction).
  const record = await auditCliChange(env, store, {
    operation: 'HsmRestore',
    summary: { backup: body.createdAt, backendId: body.backendId, device: serial, adopted: p.adopt.map((k) => k.keyId), known: p.known.length },
  });
  // The signatures recorded so far were made on the devices the keys came from: the restored
  // device's log is reconciled (kmsgate hsm audit) against what is recorded from here on.
  await store.deviceLogs.restartReconciliation(body.backendId, record.seq, new Date());
  return adopted.length;
}
