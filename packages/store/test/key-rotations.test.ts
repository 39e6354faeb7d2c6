import type { KeyRecord } from '@kmsgate/core';
import { openDb, type Db } from '../src/db';
import { KeyStore } from '../src/keys';
import { KeyRotationStore } from '../src/key-rotations';

/** Key materials, schedules and the running-rotation mark, on a real (in-memory) SQLite schema. */
let db: Db;
let keys: KeyStore;
let rotations: KeyRotationStore;
const K1 = '11111111-1111-4111-8111-111111111111';
const DAY = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * DAY);

const key = (keyId: string, over: Partial<KeyRecord> = {}): KeyRecord => ({
  keyId,
  createdAt: t0,
  description: '',
  keyUsage: 'ENCRYPT_DECRYPT',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyState: 'Enabled',
  origin: 'AWS_KMS',
  backendId: 'yubihsm',
  handle: '7:1',
  publicKey: new Uint8Array(0),
  ...over,
});

beforeEach(() => {
  db = openDb(':memory:');
  keys = new KeyStore(db, () => t0);
  rotations = new KeyRotationStore(db);
  keys.insertKey(key(K1));
});
afterEach(() => db.close());

describe('materials', () => {
  it('a key starts with version 0, its own handle, as the current material', () => {
    expect(rotations.materials(key(K1))).toEqual([{ version: 0, handle: '7:1' }]);
    expect(rotations.current(key(K1))).toEqual({ version: 0, handle: '7:1' });
    expect(rotations.version(key(K1), 1)).toBeUndefined();
  });

  it('each rotation adds the next version and makes it current; older ones stay readable', () => {
    rotations.recordRotation(K1, '7:2', 'ON_DEMAND', at(1));
    rotations.recordRotation(K1, '7:3', 'AUTOMATIC', at(2));
    expect(rotations.current(key(K1))).toMatchObject({ version: 2, handle: '7:3', rotationType: 'AUTOMATIC' });
    expect(rotations.version(key(K1), 1)).toEqual({ version: 1, handle: '7:2', rotatedAt: at(1), rotationType: 'ON_DEMAND' });
    expect(rotations.version(key(K1), 0)).toEqual({ version: 0, handle: '7:1' });
    expect(rotations.materials(key(K1)).map((m) => m.version)).toEqual([0, 1, 2]);
    expect(rotations.onDemandRotations(K1)).toBe(1);
  });

  it('go with their key', () => {
    rotations.recordRotation(K1, '7:2', 'ON_DEMAND', at(1));
    db.prepare('DELETE FROM keys WHERE key_id = ?').run(K1);
    expect(rotations.rotations(K1)).toEqual([]);
  });
});

describe('schedule', () => {
  it('enable counts the period from now; a new period keeps the anchor; disable forgets it; enabling again counts from then', () => {
    expect(rotations.state(K1)).toEqual({});
    rotations.enable(K1, 365, at(0));
    expect(rotations.state(K1).schedule).toEqual({ periodDays: 365, anchorAt: at(0), nextRotationDate: at(365) });
    rotations.enable(K1, 90, at(10));
    expect(rotations.state(K1).schedule).toEqual({ periodDays: 90, anchorAt: at(0), nextRotationDate: at(90) });
    rotations.disable(K1);
    expect(rotations.state(K1).schedule).toBeUndefined();
    rotations.enable(K1, 90, at(20));
    expect(rotations.state(K1).schedule?.nextRotationDate).toEqual(at(110));
  });

  it('an automatic rotation restarts the schedule from its date; an on-demand one does not', () => {
    rotations.enable(K1, 100, at(0));
    rotations.recordRotation(K1, '7:2', 'ON_DEMAND', at(50));
    expect(rotations.state(K1).schedule?.nextRotationDate).toEqual(at(100));
    rotations.recordRotation(K1, '7:3', 'AUTOMATIC', at(101));
    expect(rotations.state(K1).schedule?.nextRotationDate).toEqual(at(201));
  });

  it('dueForRotation lists enabled keys past their date only', () => {
    rotations.enable(K1, 90, at(0));
    expect(rotations.dueForRotation(at(89))).toEqual([]);
    expect(rotations.dueForRotation(at(90))).toEqual([K1]);
    keys.setKeyState(K1, 'Disabled');
    expect(rotations.dueForRotation(at(91))).toEqual([]);
  });
});

describe('the running-rotation mark', () => {
  it('is taken once; a second claim fails until it is released or recorded', () => {
    expect(rotations.claim(K1, 'ON_DEMAND', at(0), at(-1))).toBe(true);
    expect(rotations.state(K1).running).toEqual({ startedAt: at(0), type: 'ON_DEMAND' });
    expect(rotations.claim(K1, 'AUTOMATIC', at(0), at(-1))).toBe(false);
    rotations.release(K1);
    expect(rotations.claim(K1, 'AUTOMATIC', at(0), at(-1))).toBe(true);
    rotations.recordRotation(K1, '7:2', 'AUTOMATIC', at(0));
    expect(rotations.state(K1).running).toBeUndefined();
  });

  it('a mark older than the stale limit is taken over (its process is gone)', () => {
    expect(rotations.claim(K1, 'ON_DEMAND', at(0), at(-1))).toBe(true);
    expect(rotations.claim(K1, 'ON_DEMAND', at(1), at(0.5))).toBe(true);
    expect(rotations.state(K1).running?.startedAt).toEqual(at(1));
  });
});
