/**
 * Which installation a store belongs to, and how much it holds: what a data-dir backup records in
 * its manifest and what a restore checks against (`kmsgate backup` / `kmsgate restore`).
 */
import type { Db } from './db';

export interface Installation {
  /** 32 lowercase hex characters, made once when the store was created (schema migration 8). */
  id: string;
  createdAt: Date;
}

export function readInstallation(db: Db): Installation {
  const row = db.prepare('SELECT id, created_at FROM installation').get() as { id: string; created_at: number } | undefined;
  // Migration 6 inserts the one row; a store without it was changed by hand.
  if (!row) throw new Error('the store has no installation id (its installation table is empty)');
  return { id: row.id, createdAt: new Date(row.created_at) };
}

export interface StoreCounts {
  /** KMS keys in any state, pending deletion included. */
  keys: number;
  /** API keys, revoked ones included. */
  apiKeys: number;
  auditRecords: number;
  /** The last audit record's seq and hash; 0 and null for an empty log. */
  auditHeadSeq: number;
  auditHeadHash: string | null;
}

export function readStoreCounts(db: Db): StoreCounts {
  const count = (table: 'keys' | 'api_keys' | 'audit_log') => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const head = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  return {
    keys: count('keys'),
    apiKeys: count('api_keys'),
    auditRecords: count('audit_log'),
    auditHeadSeq: head?.seq ?? 0,
    auditHeadHash: head?.hash ?? null,
  };
}
