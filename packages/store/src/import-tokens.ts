/**
 * Import tokens: what GetParametersForImport handed out, so ImportKeyMaterial can find the wrapping
 * key the material was wrapped for, and refuse a token that is unknown, for another key, used,
 * superseded or expired. A token is used once: the ImportKeyMaterial that succeeds with it ends it,
 * and a newer GetParametersForImport for the same key supersedes it. Either way, and at expiry, its
 * wrapping key is deleted from the backend (forCleanup / wrappingDeleted).
 */
import { createHash } from 'node:crypto';
import type { ImportTokenRecord, ImportTokenRepository, ImportTokenState, ImportedMaterial } from './contract/import-tokens';
import type { Synchronous } from './contract/repository';
import type { Db } from './db';

interface Row {
  token_hash: Buffer;
  key_id: string;
  backend_id: string;
  wrapping_handle: string;
  wrapping_key_spec: string;
  wrapping_algorithm: string;
  public_key: Buffer;
  created_at: number;
  valid_to: number;
  state: string;
  wrapping_deleted: number;
}

function toRecord(r: Row): ImportTokenRecord {
  return {
    tokenHash: new Uint8Array(r.token_hash),
    keyId: r.key_id,
    backendId: r.backend_id,
    wrappingHandle: r.wrapping_handle,
    wrappingKeySpec: r.wrapping_key_spec,
    wrappingAlgorithm: r.wrapping_algorithm,
    publicKey: new Uint8Array(r.public_key),
    createdAt: new Date(r.created_at),
    validTo: new Date(r.valid_to),
    state: r.state as ImportTokenState,
    wrappingDeleted: r.wrapping_deleted === 1,
  };
}

/** The lookup key of a token: its SHA-256 (a token found by hash needs no secret comparison). */
export function importTokenHash(token: Uint8Array): Uint8Array {
  if (!(token instanceof Uint8Array)) throw new TypeError('token must be a Uint8Array');
  return new Uint8Array(createHash('sha256').update(token).digest());
}

export class ImportTokenStore implements Synchronous<ImportTokenRepository> {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO import_tokens (token_hash, key_id, backend_id, wrapping_handle, wrapping_key_spec,
        wrapping_algorithm, public_key, created_at, valid_to, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')`),
      supersede: db.prepare(`UPDATE import_tokens SET state = 'superseded' WHERE key_id = ? AND state = 'open'`),
      get: db.prepare<[Buffer], Row>('SELECT * FROM import_tokens WHERE token_hash = ?'),
      use: db.prepare(`UPDATE import_tokens SET state = 'used' WHERE token_hash = ? AND state = 'open' AND valid_to > ?`),
      adopt: db.prepare(`UPDATE keys SET handle = ?, public_key = ?, key_state = 'Enabled' WHERE key_id = ? AND key_state = 'PendingImport' AND handle = ''`),
      cleanup: db.prepare<[number], Row>(`SELECT * FROM import_tokens WHERE wrapping_deleted = 0 AND (state <> 'open' OR valid_to <= ?) ORDER BY created_at`),
      deleted: db.prepare('UPDATE import_tokens SET wrapping_deleted = 1 WHERE token_hash = ?'),
      forget: db.prepare('DELETE FROM import_tokens WHERE wrapping_deleted = 1 AND key_id NOT IN (SELECT key_id FROM keys)'),
    };
  }

  /** Records a new token; the key's earlier open tokens are superseded in the same transaction. */
  issue(t: Omit<ImportTokenRecord, 'state' | 'wrappingDeleted'>): void {
    this.db.transaction(() => {
      this.stmts.supersede.run(t.keyId);
      this.stmts.insert.run(
        Buffer.from(t.tokenHash),
        t.keyId,
        t.backendId,
        t.wrappingHandle,
        t.wrappingKeySpec,
        t.wrappingAlgorithm,
        Buffer.from(t.publicKey),
        t.createdAt.getTime(),
        t.validTo.getTime(),
      );
    })();
  }

  find(tokenHash: Uint8Array): ImportTokenRecord | undefined {
    const r = this.stmts.get.get(Buffer.from(tokenHash));
    return r ? toRecord(r) : undefined;
  }

  /**
   * Ends the token; with `material`, also gives its PendingImport key that key material and
   * enables it, in one transaction. Changes nothing unless it answers 'done': 'token' when the
   * token is no longer open and valid at `now`, 'key' when the key no longer waits for key
   * material (a concurrent import won).
   */
  use(tokenHash: Uint8Array, now: Date, material?: ImportedMaterial): 'done' | 'token' | 'key' {
    class NotDone {
      constructor(readonly why: 'token' | 'key') {}
    }
    try {
      this.db.transaction(() => {
        if (this.stmts.use.run(Buffer.from(tokenHash), now.getTime()).changes !== 1) throw new NotDone('token');
        if (material && this.stmts.adopt.run(material.handle, Buffer.from(material.publicKey), material.keyId).changes !== 1) throw new NotDone('key');
      })();
      return 'done';
    } catch (e) {
      if (e instanceof NotDone) return e.why;
      throw e;
    }
  }

  /** Tokens whose wrapping key should leave the backend: used, superseded or expired at `now`, and not deleted yet. */
  forCleanup(now: Date): ImportTokenRecord[] {
    return this.stmts.cleanup.all(now.getTime()).map(toRecord);
  }

  /** The token's wrapping key is gone from the backend; rows of keys that no longer exist are dropped. */
  wrappingDeleted(tokenHash: Uint8Array): void {
    this.db.transaction(() => {
      this.stmts.deleted.run(Buffer.from(tokenHash));
      this.stmts.forget.run();
    })();
  }
}
