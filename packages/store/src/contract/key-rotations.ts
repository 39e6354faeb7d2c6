import type { KeyRecord } from '@kmsgate/core';
import type { MethodKinds } from './repository';

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

export interface KeyMaterial {
  /** 0 for the key's first material, then 1, 2, … in rotation order. */
  version: number;
  handle: string;
  /** When it became current; absent for version 0 (the key's CreationDate). */
  rotatedAt?: Date;
  rotationType?: RotationType;
}

export interface RotationState {
  /** Present while automatic rotation is enabled: every `periodDays` days from `anchorAt`. */
  schedule?: { periodDays: number; anchorAt: Date; nextRotationDate: Date };
  /** A rotation that has been started and has not yet recorded its material. */
  running?: { startedAt: Date; type: RotationType };
}

type KeyRef = Pick<KeyRecord, 'keyId' | 'handle'>;

/**
 * Key rotation of SYMMETRIC_DEFAULT keys: the materials a key gained by rotation, its automatic
 * schedule, and the rotation running on it. Version 0 is the key's own handle.
 */
export interface KeyRotationRepository {
  /** The materials rotation added to a key (versions 1, 2, …), oldest first. Shared with later reads: never modify. */
  rotations(keyId: string): readonly KeyMaterial[];
  /** Every material of a key, version 0 (the key's handle) first; the last is the current one. */
  materials(key: KeyRef): KeyMaterial[];
  /** The material Encrypt uses now. */
  current(key: KeyRef): KeyMaterial;
  /** The material of one version, if the key has it. */
  version(key: KeyRef, version: number): KeyMaterial | undefined;

  onDemandRotations(keyId: string): Promise<number>;
  state(keyId: string): Promise<RotationState>;
  /** Turns automatic rotation on every `periodDays` days; on a key where it is on, only the period changes. */
  enable(keyId: string, periodDays: number, now: Date): Promise<void>;
  disable(keyId: string): Promise<void>;
  /** Restores a schedule as a backup recorded it. */
  setSchedule(keyId: string, periodDays: number, anchorAt: Date): Promise<void>;
  /** Marks a rotation as running unless one runs that was started at or after `stale` (false). */
  claim(keyId: string, type: RotationType, now: Date, stale: Date): Promise<boolean>;
  /** Ends a running rotation that recorded nothing (its device call failed). */
  release(keyId: string): Promise<void>;
  /** Records a new current material and ends the running rotation, atomically. */
  recordRotation(keyId: string, handle: string, type: RotationType, now: Date): Promise<KeyMaterial>;
  /** Enabled keys whose automatic rotation date has passed, the most overdue first. */
  dueForRotation(now: Date): Promise<string[]>;
}

export const KEY_ROTATION_REPOSITORY: MethodKinds<KeyRotationRepository> = {
  rotations: 'view',
  materials: 'view',
  current: 'view',
  version: 'view',
  onDemandRotations: 'async',
  state: 'async',
  enable: 'async',
  disable: 'async',
  setSchedule: 'async',
  claim: 'async',
  release: 'async',
  recordRotation: 'async',
  dueForRotation: 'async',
};
