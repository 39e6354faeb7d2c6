/**
 * `kmsgate hsm backup --out FILE`: every kmsgate key of one backend (every key material of a rotated
 * symmetric key), exported under the backup wrap
 * key by the keyadmin session, with the metadata needed to adopt it again, sealed (backup-file.ts)
 * and written atomically with mode 0600. Nothing on the device or in the store changes; a failure
 * writes no file.
 */
import type { KeyRecord } from '@kmsgate/core';
import { type StoredKey, objectIdOf, storedKeys } from './stored-keys';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BACKUP_WRAP_KEY,
  Capability,
  type BackupKey,
  type BackupMaterial,
  type YubiHsmClient,
  capabilityNames,
  closing,
  roleClient,
  sealBackup,
} from '@kmsgate/yubihsm';
import { CliError, printable, withStore, type CliIo } from '../context';
import { hex4, loadSecrets, progressPrinter } from './ceremony-input';
import { checkWrapKey, keyAdminSession } from './device-checks';
import { holdsKey, objectTypeOf } from './key-objects';
import { writeSecretFile } from './secret-files';

export interface BackupOptions {
  connector: string;
  mnemonicFile: string;
  out: string;
  backend: string;
}

export async function backup(opts: BackupOptions, io: CliIo): Promise<void> {
  const secrets = loadSecrets(opts.mnemonicFile);
  try {
    const { keys, head } = await withStore(io.env, { sealKey: false }, async (store) => {
      // The head before the keys: a key changed after this read has its record after the head (restore's changedSince).
      const tail = (await store.audit.tail(1))[0];
      return { keys: await storedKeys(store, opts.backend), head: { seq: tail?.seq ?? 0, hash: tail?.hash ?? '' } };
    });
    if (keys.length === 0) throw new CliError(`the store has no key of backend ${printable(opts.backend)}; nothing to back up`);
    const say = progressPrinter(io);
    const total = keys.length + 2;
    const keyadmin = roleClient({ connectorUrl: opts.connector }, 'keyadmin', secrets);
    const exported = await closing([keyadmin], async () => {
      say(1, total, 'opening a session with the key admin key 0x0003');
      const info = await keyAdminSession(keyadmin, secrets);
      say(2, total, `checking the backup wrap key ${hex4(BACKUP_WRAP_KEY.id)}`);
      const wrap = await checkWrapKey(keyadmin, secrets, Capability.EXPORT_WRAPPED);
      const out: BackupKey[] = [];
      for (const [i, k] of keys.entries()) {
        const more = k.rotations.length > 0 ? ` and ${k.rotations.length} rotated key material(s)` : '';
        say(3 + i, total, `exporting key ${k.record.keyId} (object ${hex4(objectIdOf(k.record))})${more}`);
        out.push(await exportKey(keyadmin, k, wrap.delegatedCapabilities));
      }
      return { out, info };
    });
    const body = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      fingerprint: secrets.fingerprint,
      wrapKeyId: BACKUP_WRAP_KEY.id,
      device: { serial: exported.info.serial, firmware: `${exported.info.major}.${exported.info.minor}.${exported.info.build}` },
      backendId: opts.backend,
      auditHead: head,
      keys: exported.out,
    } as const;
    writeSecretFile(opts.out, sealBackup(body, secrets));
    io.stdout(`backed up ${exported.out.length} key(s) of backend ${opts.backend} from YubiHSM 2 serial ${exported.info.serial} to ${opts.out}\n`);
  } finally {
    secrets.wipe();
  }
}

/** One device object of a key under the backup wrap key, after checking it can be exported and holds that key. */
async function exportObject(keyadmin: YubiHsmClient, record: KeyRecord, id: number, wrapDelegated: bigint): Promise<{ capabilities: string; wrapped: string }> {
  const type = objectTypeOf(record.keySpec);
  const info = await keyadmin.getObjectInfo(id, type);
  if ((info.capabilities & Capability.EXPORTABLE_UNDER_WRAP) === 0n) {
    throw new CliError(
      `key ${record.keyId} (object ${hex4(id)}) is not exportable-under-wrap (it was created before the device was set up for backups); it cannot be backed up`,
    );
  }
  const missing = info.capabilities & ~wrapDelegated;
  if (missing !== 0n) {
    throw new CliError(`the backup wrap key's delegated capabilities do not cover key ${record.keyId}: it lacks ${capabilityNames(missing).join(', ')}`);
  }
  if (!(await holdsKey(keyadmin, id, record))) {
    throw new CliError(`object ${hex4(id)} on the device does not hold key ${record.keyId}; nothing was written`);
  }
  const wrapped = await keyadmin.exportWrapped(BACKUP_WRAP_KEY.id, type, id, { includeEd25519Seed: record.keySpec === 'ECC_NIST_EDWARDS25519' });
  return { capabilities: info.capabilities.toString(16).padStart(16, '0'), wrapped: Buffer.from(wrapped).toString('base64') };
}

async function exportKey(keyadmin: YubiHsmClient, k: StoredKey, wrapDelegated: bigint): Promise<BackupKey> {
  const { record } = k;
  const id = objectIdOf(record);
  const first = await exportObject(keyadmin, record, id, wrapDelegated);
  const materials: BackupMaterial[] = [];
  for (const m of k.rotations) {
    const objectId = objectIdOf({ keyId: record.keyId, handle: m.handle });
    const exported = await exportObject(keyadmin, record, objectId, wrapDelegated);
    materials.push({ version: m.version, objectId, rotatedAt: m.rotatedAt!.toISOString(), rotationType: m.rotationType!, ...exported });
  }
  return {
    keyId: record.keyId,
    createdAt: record.createdAt.toISOString(),
    description: record.description,
    keyUsage: record.keyUsage,
    keySpec: record.keySpec,
    keyState: record.keyState,
    origin: record.origin,
    ...(record.deletionDate ? { deletionDate: record.deletionDate.toISOString() } : {}),
    ...(record.policy !== undefined ? { policy: record.policy } : {}),
    tags: k.tags,
    aliases: k.aliases,
    handle: record.handle,
    objectId: id,
    capabilities: first.capabilities,
    publicKey: Buffer.from(record.publicKey).toString('base64'),
    wrapped: first.wrapped,
    ...(materials.length > 0 ? { materials } : {}),
    ...(k.schedule ? { rotation: { periodDays: k.schedule.periodDays, anchorAt: k.schedule.anchorAt.toISOString() } } : {}),
  };
}
