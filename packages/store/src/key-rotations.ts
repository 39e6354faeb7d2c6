/**
 * Key rotation of SYMMETRIC_DEFAULT keys (docs/cryptography.md, "Key rotation"): the key materials a
 * key gained by rotation, its automatic rotation schedule, and the rotation running on it. A key's
 * first material, version 0, is the key's own handle (keys.handle); each rotation adds the next
 * version, which becomes the current one. Old versions are kept until the key is deleted, so what
 * they encrypted keeps decrypting.
 */
import type { KeyRecord } from '@kmsgate/core';
import type { KeyMaterial, KeyRotationRepository, RotationState, RotationType } from './contract/key-rotations';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';
import { ReadCache, type CachedRead } from './read-cache';

/** A rotation period is whole days of this many milliseconds. */
export const DAY_MS = 86_400_000;

interface MaterialRow {
  version: number;
  handle: string;
  rotated_at: number;
  rotation_type: string;
}

/** A key_rotation row's schedule and running rotation, times in epoch milliseconds. */
export interface RotationStateRow {
  period_days: number | null;
  anchor_at: number | null;
  started_at: number | null;
  started_type: string | null;
}

type KeyRef = Pick<KeyRecord, 'keyId' | 'handle'>;

/*
 * What every KeyRotationRepository derives from a key and the materials rotation added to it
 * (`rotated`, oldest first), whichever database they came from.
 */

/** Every material of a key, version 0 (the key's handle) first; the last is the current one. */
export function allMaterials(key: KeyRef, rotated: readonly KeyMaterial[]): KeyMaterial[] {
  return [{ version: 0, handle: key.handle }, ...rotated];
}

/** The material Encrypt uses now. */
export function currentMaterial(key: KeyRef, rotated: readonly KeyMaterial[]): KeyMaterial {
  return rotated.length > 0 ? rotated[rotated.length - 1]! : { version: 0, handle: key.handle };
}

/** The material of one version, if the key has it. */
export function materialVersion(key: KeyRef, rotated: readonly KeyMaterial[], version: number): KeyMaterial | undefined {
  if (version === 0) return { version: 0, handle: key.handle };
  return rotated.find((m) => m.version === version);
}

export function checkRotationPeriod(periodDays: number): void {
  if (!Number.isInteger(periodDays) || periodDays < 1) throw new RangeError('periodDays must be a positive integer');
}

/** A material a backup recorded: rotation numbers from 1 (version 0 is the key's own handle). */
export function checkRestoredMaterial(m: Required<KeyMaterial>): void {
  if (!Number.isSafeInteger(m.version) || m.version < 1) throw new RangeError('a restored material version must be an integer of at least 1');
}

export function rotationStateOf(r: RotationStateRow): RotationState {
  return {
    ...(r.period_days !== null && r.anchor_at !== null
      ? { schedule: { periodDays: r.period_days, anchorAt: new Date(r.anchor_at), nextRotationDate: new Date(r.anchor_at + r.period_days * DAY_MS) } }
      : {}),
    ...(r.started_at !== null ? { running: { startedAt: new Date(r.started_at), type: r.started_type as RotationType } } : {}),
  };
}

function toMaterial(r: MaterialRow): KeyMaterial {
  return { version: r.version, handle: r.handle, rotatedAt: new Date(r.rotated_at), rotationType: r.rotation_type as RotationType };
}

export class KeyRotationStore implements Synchronous<KeyRotationRepository> {
  private readonly stmts;
  readonly #materials: CachedRead<string, readonly KeyMaterial[]>;

  constructor(private readonly db: Db) {
    this.stmts = {
      materials: db.prepare<[string], MaterialRow>('SELECT version, handle, rotated_at, rotation_type FROM key_materials WHERE key_id = ? ORDER BY version'),
      insertMaterial: db.prepare('INSERT INTO key_materials (key_id, version, handle, rotated_at, rotation_type) VALUES (?, ?, ?, ?, ?)'),
      lastVersion: db.prepare<[string], { v: number | null }>('SELECT max(version) AS v FROM key_materials WHERE key_id = ?'),
      onDemandCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM key_materials WHERE key_id = ? AND rotation_type = 'ON_DEMAND'"),
      state: db.prepare<[string], RotationStateRow>('SELECT period_days, anchor_at, started_at, started_type FROM key_rotation WHERE key_id = ?'),
      enable: db.prepare(`INSERT INTO key_rotation (key_id, period_days, anchor_at) VALUES (@keyId, @period, @now)
        ON CONFLICT (key_id) DO UPDATE SET period_days = @period, anchor_at = coalesce(CASE WHEN period_days IS NULL THEN NULL ELSE anchor_at END, @now)`),
      disable: db.prepare('UPDATE key_rotation SET period_days = NULL, anchor_at = NULL WHERE key_id = ?'),
      setSchedule: db.prepare(`INSERT INTO key_rotation (key_id, period_days, anchor_at) VALUES (@keyId, @period, @anchor)
        ON CONFLICT (key_id) DO UPDATE SET period_days = @period, anchor_at = @anchor`),
      // Taken only when no rotation runs, or the one that does was started before `stale` (its process is gone).
      claim: db.prepare(`INSERT INTO key_rotation (key_id, started_at, started_type) VALUES (@keyId, @now, @type)
        ON CONFLICT (key_id) DO UPDATE SET started_at = @now, started_type = @type WHERE started_at IS NULL OR started_at < @stale`),
      release: db.prepare('UPDATE key_rotation SET started_at = NULL, started_type = NULL WHERE key_id = ?'),
      rotated: db.prepare(
        'UPDATE key_rotation SET started_at = NULL, started_type = NULL, anchor_at = CASE WHEN @automatic = 1 AND period_days IS NOT NULL THEN @now ELSE anchor_at END WHERE key_id = @keyId',
      ),
      due: db.prepare<[number], { key_id: string }>(
        `SELECT r.key_id FROM key_rotation r JOIN keys k ON k.key_id = r.key_id
         WHERE r.period_days IS NOT NULL AND r.anchor_at + r.period_days * ${DAY_MS} <= ? AND k.key_state = 'Enabled'
         ORDER BY r.anchor_at + r.period_days * ${DAY_MS}, r.key_id`,
      ),
    };
    this.#materials = ReadCache.of(db).read();
  }

  /** The materials rotation added to a key (versions 1, 2, …), oldest first. Shared with later reads: never modify. */
  rotations(keyId: string): readonly KeyMaterial[] {
    return this.#materials.get(keyId, () => Object.freeze(this.stmts.materials.all(keyId).map((r) => Object.freeze(toMaterial(r)))));
  }

  materials(key: KeyRef): KeyMaterial[] {
    return allMaterials(key, this.rotations(key.keyId));
  }

  current(key: KeyRef): KeyMaterial {
    return currentMaterial(key, this.rotations(key.keyId));
  }

  version(key: KeyRef, version: number): KeyMaterial | undefined {
    return materialVersion(key, this.rotations(key.keyId), version);
  }

  onDemandRotations(keyId: string): number {
    return this.stmts.onDemandCount.get(keyId)!.n;
  }

  state(keyId: string): RotationState {
    const r = this.stmts.state.get(keyId);
    return r ? rotationStateOf(r) : {};
  }

  /**
   * Turns automatic rotation on, every `periodDays` days counted from now; on a key where it is on
   * already, only the period changes (counted from when it was enabled or last rotated automatically).
   */
  enable(keyId: string, periodDays: number, now: Date): void {
    checkRotationPeriod(periodDays);
    this.stmts.enable.run({ keyId, period: periodDays, now: now.getTime() });
  }

  disable(keyId: string): void {
    this.stmts.disable.run(keyId);
  }

  /** Restores a schedule as a backup recorded it. */
  setSchedule(keyId: string, periodDays: number, anchorAt: Date): void {
    this.stmts.setSchedule.run({ keyId, period: periodDays, anchor: anchorAt.getTime() });
  }

  /**
   * Marks a rotation of `type` as running, unless one already runs (false). A mark older than
   * `stale` is taken over: the process that set it did not finish, and a rotation takes one device
   * command, not minutes.
   */
  claim(keyId: string, type: RotationType, now: Date, stale: Date): boolean {
    return this.stmts.claim.run({ keyId, now: now.getTime(), type, stale: stale.getTime() }).changes === 1;
  }

  /** Ends a running rotation that recorded nothing (its device call failed). */
  release(keyId: string): void {
    this.stmts.release.run(keyId);
  }

  /**
   * Records a new key material as the key's current one and ends the running rotation, in one
   * transaction. An automatic rotation restarts the schedule from `now`; an on-demand one leaves it
   * alone (AWS: on-demand rotations do not change automatic rotation schedules).
   */
  recordRotation(keyId: string, handle: string, type: RotationType, now: Date): KeyMaterial {
    return this.db.transaction(() => {
      const version = (this.stmts.lastVersion.get(keyId)!.v ?? 0) + 1;
      this.stmts.insertMaterial.run(keyId, version, handle, now.getTime(), type);
      this.stmts.rotated.run({ keyId, now: now.getTime(), automatic: type === 'AUTOMATIC' ? 1 : 0 });
      return { version, handle, rotatedAt: now, rotationType: type };
    })();
  }

  /** Adds the materials a backup recorded that the key lacks (versions above its last), in the caller's transaction (KeyStore.adoptKeys). */
  insertMaterials(keyId: string, materials: readonly Required<KeyMaterial>[]): void {
    materials.forEach(checkRestoredMaterial);
    const last = this.stmts.lastVersion.get(keyId)!.v ?? 0;
    for (const m of materials) if (m.version > last) this.stmts.insertMaterial.run(keyId, m.version, m.handle, m.rotatedAt.getTime(), m.rotationType);
  }

  /** Enabled keys whose automatic rotation date has passed, the most overdue first. */
  dueForRotation(now: Date): string[] {
    return this.stmts.due.all(now.getTime()).map((r) => r.key_id);
  }
}

/**
 * How an audit record's `deviceUses` names a use of one key material (docs/audit.md): the key id for
 * the first material, `<key id>/<version>` for a rotated one, so `kmsgate hsm audit` can match
 * each device object's log entries.
 */
export function materialUseName(keyId: string, version: number): string {
  return version === 0 ? keyId : `${keyId}/${version}`;
}
