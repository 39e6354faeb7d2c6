/**
 * A data-dir backup's manifest.json: what the backup holds (each file with its SHA-256), whose
 * installation it is and what its store held. Written last, so a directory without one is an
 * interrupted backup; `kmsgate restore` checks everything against it before it changes anything.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@kmsgate/core';
import { CliError, printable } from '../context';

export const BACKUP_FORMAT = 'kmsgate-backup/1';
export const MANIFEST_FILE = 'manifest.json';
/** The store, always under this name in a backup (wherever KMS_DB_PATH put it). */
export const BACKUP_DB_FILE = 'kms.db';

/** A plain file name of the data dir; never a path, so a manifest cannot point a restore elsewhere. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;

const ManifestSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    installationId: z.string().regex(/^[0-9a-f]{32}$/),
    createdAt: z.string().datetime(),
    kmsgateVersion: z.string(),
    schemaVersion: z.number().int().min(1),
    store: z
      .object({
        keys: z.number().int().min(0),
        apiKeys: z.number().int().min(0),
        auditRecords: z.number().int().min(0),
        auditHeadSeq: z.number().int().min(0),
        auditHeadHash: z.string().regex(HEX64).nullable(),
      })
      .strict(),
    files: z
      .record(z.string().regex(FILE_NAME), z.object({ bytes: z.number().int().min(0), sha256: z.string().regex(HEX64) }).strict())
      .refine((f) => BACKUP_DB_FILE in f, `must list ${BACKUP_DB_FILE}`),
  })
  .strict();

export type Manifest = z.infer<typeof ManifestSchema>;

export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`${printable(dir)} is not a complete kmsgate backup: it has no ${MANIFEST_FILE} (an interrupted backup, or not a backup)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(`${printable(path)} is not JSON: not a kmsgate backup, or a damaged one`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(`${printable(path)} is not a ${BACKUP_FORMAT} manifest: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
}

/** SHA-256 and size of a file, read in chunks (a store can be large). */
export function fileDigest(path: string): { bytes: number; sha256: string } {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let bytes = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** Every file the manifest lists is there, whole and unchanged; otherwise a one-line reason. */
export function checkFiles(dir: string, manifest: Manifest): void {
  for (const [name, want] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new CliError(`the backup in ${printable(dir)} is incomplete: ${name} is missing`);
    const got = fileDigest(path);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256)
      throw new CliError(`the backup in ${printable(dir)} was altered or damaged: ${name} does not match the checksum in ${MANIFEST_FILE}`);
  }
}
