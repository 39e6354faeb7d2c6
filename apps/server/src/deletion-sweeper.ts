import { hasKeyMaterial, type ImportWrappingAlgorithm, type ImportWrappingKeySpec, type KeyBackend, type KeyRecord } from '@kmsgate/core';
import type { ImportTokenRepository, KeyRotationRepository, KeyRepository } from '@kmsgate/store';
import type { Logger } from './log';
import type { BackendRegistry } from './backends';
import { describeError, periodicPass } from './periodic-pass';

/**
 * Finishes what ScheduleKeyDeletion started. Once a key's DeletionDate has passed it no longer
 * exists for clients (the store stops returning it, and its aliases, at that instant); the sweeper
 * then destroys the key's object in the device (every key material's, for a rotated symmetric key)
 * and deletes the key's row, which takes its aliases, tags and key materials with it. No tombstone row is kept: a deleted key is simply absent, as on AWS, and key
 * ids are random UUIDs, so one is never reused. The deletion is recorded in the log.
 *
 * It runs once at start-up (keys that fell due while the gateway was down) and then every
 * `intervalMs`. A key whose device object cannot be destroyed (backend unreachable or no longer
 * configured) keeps its row, still PendingDeletion, and is retried on the next sweep. A key that
 * never got key material (Origin EXTERNAL, never imported) has no device object: only its row goes.
 *
 * The same pass deletes import wrapping keys from their backend once their token is used,
 * superseded or expired (GetParametersForImport), retrying those it cannot reach.
 */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export interface SweepResult {
  /** Keys whose device object was destroyed (or was already gone) and whose row was deleted. */
  deleted: string[];
  /** Keys left for the next sweep. */
  failed: string[];
  /** Import wrapping keys deleted from their backend (their token used, superseded or expired). */
  wrappingKeysDeleted: number;
}

export interface DeletionSweeper {
  /** One pass; a call while a pass is running joins it. Never rejects. */
  sweep(): Promise<SweepResult>;
  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void;
  /** Stops the timer and waits for a running pass, so backends are not closed under it. */
  stop(): Promise<void>;
}

export interface DeletionSweeperOptions {
  keys: KeyRepository;
  /** A rotated symmetric key holds one device object per key material: all of them are destroyed. */
  rotations: KeyRotationRepository;
  importTokens: ImportTokenRepository;
  /** Brings the store's views up to date before a pass (GatewayStore.refresh): another gateway may have rotated a key since the last request. */
  refresh: () => Promise<void>;
  /** The gateway's clock (import tokens expire by it). */
  now: () => Date;
  backends: BackendRegistry;
  logger: Logger;
  intervalMs?: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export function createDeletionSweeper(opts: DeletionSweeperOptions): DeletionSweeper {
  const { keys, rotations, importTokens, backends, logger, now } = opts;
  const intervalMs = opts.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;

  /**
   * Destroys the key's device object. The object is first checked to still hold this key's public
   * key: should a crash ever have left a row behind after its object was destroyed and the device
   * handed the same object id to a new key, that new key is left alone.
   */
  async function destroy(backend: KeyBackend, key: KeyRecord): Promise<void> {
    let stillThisKey = true;
    try {
      stillThisKey = sameBytes(await backend.getPublicKey(key.handle, key.keySpec), key.publicKey);
    } catch {
      // Object missing, or backend unreachable: deleteKey succeeds for the first and fails for the second.
    }
    if (!stillThisKey) {
      logger.warn('key deletion: the device object now holds another key; leaving it in place', { keyId: key.keyId, backend: backend.id });
      return;
    }
    await backend.deleteKey(key.handle, key.keySpec, key.publicKey);
  }

  async function pass(): Promise<SweepResult> {
    const result: SweepResult = { deleted: [], failed: [], wrappingKeysDeleted: 0 };
    // After one failure a backend is skipped for the rest of the pass: it is likely down, and
    // waiting out its timeout once per key would only delay the others.
    const unavailable = new Set<string>();
    await opts.refresh();
    for (const key of await keys.dueForDeletion()) {
      const fields = { keyId: key.keyId, backend: key.backendId, deletionDate: key.deletionDate?.toISOString() };
      const backend = backends.find(key.backendId);
      if (!backend || unavailable.has(key.backendId)) {
        if (!backend) logger.error("key deletion: the key's backend is not configured; the key stays PendingDeletion", fields);
        result.failed.push(key.keyId);
        continue;
      }
      try {
        // Every key material's object, the rotated ones first; one already gone counts as destroyed, so a retry finishes the job.
        if (hasKeyMaterial(key)) for (const m of rotations.materials(key).reverse()) await destroy(backend, { ...key, handle: m.handle });
      } catch (e) {
        unavailable.add(key.backendId);
        logger.error('key deletion failed; the key stays PendingDeletion and is retried on the next sweep', { ...fields, error: describeError(e) });
        result.failed.push(key.keyId);
        continue;
      }
      await keys.deleteDueKey(key.keyId);
      logger.info('key deleted: device object destroyed, metadata, aliases and tags removed', fields);
      result.deleted.push(key.keyId);
    }
    for (const t of await importTokens.forCleanup(now())) {
      const fields = { keyId: t.keyId, backend: t.backendId, wrappingKey: t.wrappingHandle, state: t.state };
      const importer = backends.find(t.backendId)?.importer;
      if (!importer || unavailable.has(t.backendId)) {
        if (!importer) logger.error('import wrapping key: its backend is not configured or cannot import; it stays in the device', fields);
        continue;
      }
      try {
        await importer.deleteImportWrappingKey({
          handle: t.wrappingHandle,
          publicKey: t.publicKey,
          spec: t.wrappingKeySpec as ImportWrappingKeySpec,
          algorithm: t.wrappingAlgorithm as ImportWrappingAlgorithm,
        });
      } catch (e) {
        unavailable.add(t.backendId);
        logger.error('import wrapping key deletion failed; retried on the next sweep', { ...fields, error: describeError(e) });
        continue;
      }
      await importTokens.wrappingDeleted(t.tokenHash);
      logger.info('import wrapping key deleted from the device', fields);
      result.wrappingKeysDeleted++;
    }
    return result;
  }

  const periodic = periodicPass(
    pass,
    (e: unknown) => {
      logger.error('key deletion sweep failed', { error: describeError(e) });
      return { deleted: [], failed: [], wrappingKeysDeleted: 0 };
    },
    intervalMs,
  );
  return { sweep: periodic.run, start: periodic.start, stop: periodic.stop };
}
