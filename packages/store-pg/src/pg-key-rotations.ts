/**
 * Key rotation on PostgreSQL (KeyRotationRepository in @kmsgate/store), with SQLite's semantics
 * (packages/store/src/key-rotations.ts). The materials, read on every Encrypt and Decrypt, are a
 * view of memory (feed-view.ts) loaded whole; schedules and the running mark are queries.
 *
 * Across gateways: `claim` is one INSERT … ON CONFLICT DO UPDATE, which PostgreSQL runs atomically
 * under the row's lock, so of two gateways claiming one key at once exactly one wins. How old a
 * running rotation is is measured on the database's clock (started_db_at), so a gateway whose clock
 * runs ahead cannot take over a rotation another one has just started. `recordRotation` locks the
 * key's row before it numbers the new version.
 */
import {
  DAY_MS,
  allMaterials,
  checkRestoredMaterial,
  checkRotationPeriod,
  currentMaterial,
  materialVersion,
  rotationStateOf,
  type KeyMaterial,
  type KeyRotationRepository,
  type RotationState,
  type RotationType,
} from '@kmsgate/store';
import type { KeyRecord } from '@kmsgate/core';
import type { Pool, PoolClient } from 'pg';
import type { ChangeFeed } from './change-feed';
import { DB_NOW_MS } from './db-clock';
import { guarded, inTransaction } from './faults';
import { FeedView } from './feed-view';

type KeyRef = Pick<KeyRecord, 'keyId' | 'handle'>;

const NONE: readonly KeyMaterial[] = Object.freeze([]);

const epoch = (v: string | null): number | null => (v === null ? null : Number(v));

/** Sets a key's schedule as a backup recorded it: $1 key id, $2 period in days, $3 anchor (epoch ms). */
export const SET_SCHEDULE = `INSERT INTO key_rotation (key_id, period_days, anchor_at) VALUES ($1, $2, $3)
  ON CONFLICT (key_id) DO UPDATE SET period_days = excluded.period_days, anchor_at = excluded.anchor_at`;

/** Adds the materials a backup recorded that the key lacks (versions above its last), in the caller's transaction (PgKeyRepository.adoptKeys). */
export async function insertMaterials(c: PoolClient, keyId: string, materials: readonly Required<KeyMaterial>[]): Promise<void> {
  materials.forEach(checkRestoredMaterial);
  const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM key_materials WHERE key_id = $1', [keyId]);
  const last = rows[0]?.v ?? 0;
  for (const m of materials) {
    if (m.version <= last) continue;
    await c.query('INSERT INTO key_materials (key_id, version, handle, rotated_at, rotation_type) VALUES ($1, $2, $3, $4, $5)', [
      keyId,
      m.version,
      m.handle,
      m.rotatedAt.getTime(),
      m.rotationType,
    ]);
  }
}

export class PgKeyRotationRepository implements KeyRotationRepository {
  readonly #pool: Pool;
  readonly #feed: ChangeFeed;
  readonly #view: FeedView<ReadonlyMap<string, readonly KeyMaterial[]>>;

  constructor(pool: Pool, feed: ChangeFeed) {
    this.#pool = pool;
    this.#feed = feed;
    this.#view = new FeedView(feed, 'key materials', () => this.#load());
  }

  async #load(): Promise<ReadonlyMap<string, readonly KeyMaterial[]>> {
    const { rows } = await guarded('load key materials', () =>
      this.#pool.query<{ key_id: string; version: number; handle: string; rotated_at: string; rotation_type: RotationType }>(
        'SELECT key_id, version, handle, rotated_at, rotation_type FROM key_materials ORDER BY key_id, version',
      ),
    );
    const out = new Map<string, KeyMaterial[]>();
    for (const r of rows) {
      const m = Object.freeze({ version: r.version, handle: r.handle, rotatedAt: new Date(Number(r.rotated_at)), rotationType: r.rotation_type });
      const list = out.get(r.key_id);
      if (list) list.push(m);
      else out.set(r.key_id, [m]);
    }
    for (const list of out.values()) Object.freeze(list);
    return out;
  }

  /** Runs a write, then reads the feed so this gateway's next read sees it. */
  async #write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const out = await guarded(what, fn);
    await this.#feed.read();
    return out;
  }

  rotations(keyId: string): readonly KeyMaterial[] {
    return this.#view.current().get(keyId) ?? NONE;
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

  async onDemandRotations(keyId: string): Promise<number> {
    const { rows } = await guarded('count on-demand rotations', () =>
      this.#pool.query<{ n: string }>("SELECT count(*) AS n FROM key_materials WHERE key_id = $1 AND rotation_type = 'ON_DEMAND'", [keyId]),
    );
    return Number(rows[0]!.n);
  }

  async state(keyId: string): Promise<RotationState> {
    const { rows } = await guarded('rotation state', () =>
      this.#pool.query<{ period_days: number | null; anchor_at: string | null; started_at: string | null; started_type: string | null }>(
        'SELECT period_days, anchor_at, started_at, started_type FROM key_rotation WHERE key_id = $1',
        [keyId],
      ),
    );
    const r = rows[0];
    return r ? rotationStateOf({ ...r, anchor_at: epoch(r.anchor_at), started_at: epoch(r.started_at) }) : {};
  }

  async enable(keyId: string, periodDays: number, now: Date): Promise<void> {
    checkRotationPeriod(periodDays);
    // On a key where it is on already only the period changes: the anchor stays.
    await guarded('enable rotation', () =>
      this.#pool.query(
        `INSERT INTO key_rotation (key_id, period_days, anchor_at) VALUES ($1, $2, $3)
         ON CONFLICT (key_id) DO UPDATE SET period_days = excluded.period_days,
           anchor_at = coalesce(CASE WHEN key_rotation.period_days IS NULL THEN NULL ELSE key_rotation.anchor_at END, excluded.anchor_at)`,
        [keyId, periodDays, now.getTime()],
      ),
    );
  }

  async disable(keyId: string): Promise<void> {
    await guarded('disable rotation', () => this.#pool.query('UPDATE key_rotation SET period_days = NULL, anchor_at = NULL WHERE key_id = $1', [keyId]));
  }

  async setSchedule(keyId: string, periodDays: number, anchorAt: Date): Promise<void> {
    await guarded('set rotation schedule', () => this.#pool.query(SET_SCHEDULE, [keyId, periodDays, anchorAt.getTime()]));
  }

  /**
   * `now - stale` is how long a rotation may run before another claim takes it over; that span is
   * measured on the database's clock, `now` itself is what GetKeyRotationStatus reports.
   */
  async claim(keyId: string, type: RotationType, now: Date, stale: Date): Promise<boolean> {
    const staleAfterMs = now.getTime() - stale.getTime();
    if (!Number.isSafeInteger(staleAfterMs) || staleAfterMs < 0) throw new RangeError('stale must not be after now');
    const { rowCount } = await guarded('claim rotation', () =>
      this.#pool.query(
        `INSERT INTO key_rotation (key_id, started_at, started_db_at, started_type) VALUES ($1, $2, ${DB_NOW_MS}, $3)
         ON CONFLICT (key_id) DO UPDATE SET started_at = excluded.started_at, started_db_at = excluded.started_db_at, started_type = excluded.started_type
         WHERE key_rotation.started_at IS NULL OR key_rotation.started_db_at < excluded.started_db_at - $4`,
        [keyId, now.getTime(), type, staleAfterMs],
      ),
    );
    return rowCount === 1;
  }

  async release(keyId: string): Promise<void> {
    await guarded('release rotation', () =>
      this.#pool.query('UPDATE key_rotation SET started_at = NULL, started_db_at = NULL, started_type = NULL WHERE key_id = $1', [keyId]),
    );
  }

  async recordRotation(keyId: string, handle: string, type: RotationType, now: Date): Promise<KeyMaterial> {
    return await this.#write('record rotation', () =>
      inTransaction(this.#pool, async (c) => {
        // Serializes numbering with any other gateway recording for this key.
        await c.query('SELECT 1 FROM keys WHERE key_id = $1 FOR UPDATE', [keyId]);
        const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM key_materials WHERE key_id = $1', [keyId]);
        const version = (rows[0]?.v ?? 0) + 1;
        await c.query('INSERT INTO key_materials (key_id, version, handle, rotated_at, rotation_type) VALUES ($1, $2, $3, $4, $5)', [
          keyId,
          version,
          handle,
          now.getTime(),
          type,
        ]);
        // An automatic rotation restarts the schedule from now; an on-demand one leaves it alone.
        await c.query(
          `UPDATE key_rotation SET started_at = NULL, started_db_at = NULL, started_type = NULL,
             anchor_at = CASE WHEN $2 AND period_days IS NOT NULL THEN $3 ELSE anchor_at END WHERE key_id = $1`,
          [keyId, type === 'AUTOMATIC', now.getTime()],
        );
        return { version, handle, rotatedAt: now, rotationType: type };
      }),
    );
  }

  async dueForRotation(now: Date): Promise<string[]> {
    const { rows } = await guarded('keys due for rotation', () =>
      this.#pool.query<{ key_id: string }>(
        `SELECT r.key_id FROM key_rotation r JOIN keys k ON k.key_id = r.key_id
         WHERE r.period_days IS NOT NULL AND r.anchor_at + r.period_days::bigint * ${DAY_MS} <= $1 AND k.key_state = 'Enabled'
         ORDER BY r.anchor_at + r.period_days::bigint * ${DAY_MS}, r.key_id`,
        [now.getTime()],
      ),
    );
    return rows.map((r) => r.key_id);
  }
}
