/**
 * The `kmsgate hsm backup` file: JSON with every kmsgate key as an EXPORT_WRAPPED blob under the
 * backup wrap key, the metadata kmsgate needs to adopt it again, and an HMAC-SHA256 over the rest
 * under a key derived from the same mnemonic (mnemonic.ts). The blobs are already confidential
 * (AES-256-CCM inside the device); the MAC makes the metadata tamper-evident, and the fingerprint
 * in the clear tells "made under another mnemonic" apart from "altered".
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CeremonySecrets } from './mnemonic';

export const BACKUP_FORMAT = 'kmsgate-yubihsm-backup';
/** 2 added each symmetric key's rotated key materials and rotation schedule; version 1 files (none of either) are still read. */
export const BACKUP_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, BACKUP_VERSION];

export interface BackupTag {
  TagKey: string;
  TagValue: string;
}

export interface BackupKey {
  keyId: string;
  /** ISO 8601. */
  createdAt: string;
  description: string;
  keyUsage: string;
  keySpec: string;
  keyState: string;
  origin: string;
  deletionDate?: string;
  policy?: string;
  tags: BackupTag[];
  aliases: string[];
  /** The handle kmsgate recorded (`<serial>:<object id>`). */
  handle: string;
  objectId: number;
  /** The object's capabilities on the device, 16 hex digits (what the wrap key must be able to carry). */
  capabilities: string;
  /** DER SubjectPublicKeyInfo, base64: checked against the device after import. */
  publicKey: string;
  /** `nonce(13) || AES-CCM ciphertext || tag(16)`, base64 (yubihsm-shell's .yhw content). */
  wrapped: string;
  /** A rotated symmetric key's later key materials, each its own wrap-key object (version 2 files; absent: none). */
  materials?: BackupMaterial[];
  /** Automatic rotation, if enabled: every `periodDays` from `anchorAt` (ISO 8601). */
  rotation?: { periodDays: number; anchorAt: string };
}

/** One rotated key material: a device object of its own, exported like the key's first. */
export interface BackupMaterial {
  version: number;
  objectId: number;
  /** ISO 8601: when it became current. */
  rotatedAt: string;
  rotationType: 'AUTOMATIC' | 'ON_DEMAND';
  capabilities: string;
  wrapped: string;
}

export interface BackupBody {
  format: typeof BACKUP_FORMAT;
  version: 1 | typeof BACKUP_VERSION;
  /** ISO 8601. */
  createdAt: string;
  /** Which mnemonic's wrap key the blobs are under (public). */
  fingerprint: string;
  wrapKeyId: number;
  /** The device the keys were exported from. */
  device: { serial: number; firmware: string };
  backendId: string;
  /** The last record of kmsgate's audit log when the backup was made: what happened later is newer. */
  auditHead: { seq: number; hash: string };
  keys: BackupKey[];
}

export class BackupFileError extends Error {}

function mac(body: BackupBody, secrets: CeremonySecrets): Buffer {
  const key = secrets.backupMacKey();
  try {
    return createHmac('sha256', key).update(JSON.stringify(body)).digest();
  } finally {
    key.fill(0);
  }
}

/** The file text: the body with its MAC as the last field. */
export function sealBackup(body: BackupBody, secrets: CeremonySecrets): string {
  return `${JSON.stringify({ ...body, mac: mac(body, secrets).toString('hex') }, null, 1)}\n`;
}

/**
 * Parses and authenticates a backup file. Throws BackupFileError saying whether the file is not a
 * backup at all (or truncated), was made under another mnemonic, or was altered.
 */
export function openBackup(text: string, secrets: CeremonySecrets): BackupBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BackupFileError('the file is not a complete kmsgate backup (it does not parse as JSON: truncated or not a backup)');
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { format?: unknown }).format !== BACKUP_FORMAT) {
    throw new BackupFileError(`the file is not a kmsgate backup (no "format": "${BACKUP_FORMAT}")`);
  }
  const { mac: given, ...body } = parsed as BackupBody & { mac?: unknown };
  if (!READABLE_VERSIONS.includes(body.version))
    throw new BackupFileError(
      `backup format version ${String(body.version)} is not supported (this kmsgate reads versions ${READABLE_VERSIONS.join(' and ')})`,
    );
  if (typeof body.fingerprint !== 'string' || !secrets.matches(body.fingerprint)) {
    throw new BackupFileError(
      `the backup was made under another mnemonic (fingerprint ${String(body.fingerprint)}; this mnemonic's is ${secrets.fingerprint})`,
    );
  }
  const expected = mac(body, secrets);
  const actual = typeof given === 'string' && /^[0-9a-f]{64}$/.test(given) ? Buffer.from(given, 'hex') : Buffer.alloc(0);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new BackupFileError('the backup file was altered: its MAC does not match (restore nothing from it)');
  }
  checkShape(body);
  return body;
}

/** After the MAC matched the shape is ours; this guards against a bug writing a bad file, not an attacker. */
function checkShape(body: BackupBody): void {
  const ok =
    typeof body.createdAt === 'string' &&
    Number.isInteger(body.wrapKeyId) &&
    typeof body.backendId === 'string' &&
    typeof body.device?.serial === 'number' &&
    typeof body.auditHead?.seq === 'number' &&
    Array.isArray(body.keys) &&
    body.keys.every(
      (k) =>
        typeof k.keyId === 'string' &&
        Number.isInteger(k.objectId) &&
        typeof k.publicKey === 'string' &&
        typeof k.wrapped === 'string' &&
        /^[0-9a-f]{16}$/.test(k.capabilities) &&
        Array.isArray(k.tags) &&
        Array.isArray(k.aliases) &&
        (k.materials === undefined ||
          (Array.isArray(k.materials) &&
            k.materials.every(
              (m) =>
                Number.isInteger(m.version) &&
                m.version >= 1 &&
                Number.isInteger(m.objectId) &&
                typeof m.rotatedAt === 'string' &&
                (m.rotationType === 'AUTOMATIC' || m.rotationType === 'ON_DEMAND') &&
                /^[0-9a-f]{16}$/.test(m.capabilities) &&
                typeof m.wrapped === 'string',
            ))) &&
        (k.rotation === undefined || (Number.isInteger(k.rotation.periodDays) && typeof k.rotation.anchorAt === 'string')),
    );
  if (!ok) throw new BackupFileError('the backup file is authentic but malformed');
}
