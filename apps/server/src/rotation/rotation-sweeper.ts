/**
 * Automatic key rotation: each pass rotates every Enabled key whose rotation date has passed
 * (KeyRotationRepository.dueForRotation), then its next date is one period later. It runs at start-up
 * (keys that fell due while the gateway was down: AWS also rotates a re-enabled key at once when
 * its date has passed) and then every `intervalMs`. A key whose backend cannot be reached keeps
 * its date and is retried on the next pass; a key no longer rotatable (it was disabled, or is
 * being rotated on demand) is left for later.
 */
import { KmsError } from '@kmsgate/core';
import type { KeyRepository } from '@kmsgate/store';
import type { Logger } from '../log';
import { describeError, periodicPass, type PeriodicPass } from '../periodic-pass';
import { rotateKey, rotationRefusal, type RotationDeps } from './rotate';

export const DEFAULT_ROTATION_SWEEP_INTERVAL_MS = 60_000;

export interface RotationSweepResult {
  /** Keys rotated in this pass. */
  rotated: string[];
  /** Keys left for the next pass. */
  failed: string[];
}

export interface RotationSweeperOptions extends RotationDeps {
  keys: KeyRepository;
  /** Brings the store's views up to date before a pass (GatewayStore.refresh): another gateway may have disabled a key since the last request. */
  refresh: () => Promise<void>;
  logger: Logger;
  intervalMs?: number;
}

export function createRotationSweeper(opts: RotationSweeperOptions): PeriodicPass<RotationSweepResult> {
  const { keys, rotations, logger, now } = opts;

  async function pass(): Promise<RotationSweepResult> {
    const result: RotationSweepResult = { rotated: [], failed: [] };
    const unavailable = new Set<string>();
    await opts.refresh();
    for (const keyId of await rotations.dueForRotation(now())) {
      const key = keys.getKey(keyId);
      if (!key || key.keyState !== 'Enabled' || rotationRefusal(key, opts.arn)) continue;
      const fields = { keyId, backend: key.backendId };
      // After one failure a backend is skipped for the rest of the pass (as the deletion sweeper does).
      if (unavailable.has(key.backendId)) {
        result.failed.push(keyId);
        continue;
      }
      try {
        const m = await rotateKey(opts, key, 'AUTOMATIC');
        logger.info('key rotated automatically: a new key material is current', { ...fields, version: m.version });
        result.rotated.push(keyId);
      } catch (e) {
        // Being rotated on demand right now: that rotation stands in for this one only if it ends the schedule; look again next pass.
        if (e instanceof KmsError && e.type === 'ConflictException') continue;
        unavailable.add(key.backendId);
        logger.error('automatic key rotation failed; retried on the next pass', { ...fields, error: describeError(e) });
        result.failed.push(keyId);
      }
    }
    return result;
  }

  return periodicPass(
    pass,
    (e: unknown) => {
      logger.error('key rotation sweep failed', { error: describeError(e) });
      return { rotated: [], failed: [] };
    },
    opts.intervalMs ?? DEFAULT_ROTATION_SWEEP_INTERVAL_MS,
  );
}
