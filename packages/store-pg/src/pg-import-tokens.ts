/**
 * Import tokens on PostgreSQL (ImportTokenRepository in @kmsgate/store), with SQLite's semantics
 * (packages/store/src/import-tokens.ts). Nothing here is read on the request path's synchronous
 * side, so there is no view: every method is a query.
 *
 * Across gateways: `use` ends the token with one UPDATE … WHERE state = 'open', which takes the
 * token row's lock and re-checks the condition after any other gateway's update commits, so of two
 * gateways using one token at once exactly one gets 'done'; the key it enables is changed in the
 * same transaction. `issue` locks the key's row first, so two GetParametersForImport for one key
 * cannot both leave a token open.
 */
import type { ImportTokenRecord, ImportTokenRepository, ImportTokenState, ImportedMaterial } from '@kmsgate/store';
import type { Pool } from 'pg';
import type { ChangeFeed } from './change-feed';
import { guarded, inTransaction } from './faults';

interface Row {
  token_hash: Buffer;
  key_id: string;
  backend_id: string;
  wrapping_handle: string;
  wrapping_key_spec: string;
  wrapping_algorithm: string;
  public_key: Buffer;
  created_at: string;
  valid_to: string;
  state: ImportTokenState;
  wrapping_deleted: boolean;
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
    createdAt: new Date(Number(r.created_at)),
    validTo: new Date(Number(r.valid_to)),
    state: r.state,
    wrappingDeleted: r.wrapping_deleted,
  };
}

/** Why `use` changed nothing; thrown inside its transaction so that it rolls back. */
class NotDone {
  constructor(readonly why: 'token' | 'key') {}
}

export class PgImportTokenRepository implements ImportTokenRepository {
  readonly #pool: Pool;
  readonly #feed: ChangeFeed;

  /** `feed`: a successful `use` enables a key, which this gateway's key view must show at once. */
  constructor(pool: Pool, feed: ChangeFeed) {
    this.#pool = pool;
    this.#feed = feed;
  }

  async issue(t: Omit<ImportTokenRecord, 'state' | 'wrappingDeleted'>): Promise<void> {
    await guarded('issue import token', () =>
      inTransaction(this.#pool, async (c) => {
        await c.query('SELECT 1 FROM keys WHERE key_id = $1 FOR UPDATE', [t.keyId]);
        await c.query(`UPDATE import_tokens SET state = 'superseded' WHERE key_id = $1 AND state = 'open'`, [t.keyId]);
        await c.query(
          `INSERT INTO import_tokens (token_hash, key_id, backend_id, wrapping_handle, wrapping_key_spec, wrapping_algorithm, public_key, created_at, valid_to, state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open')`,
          [
            Buffer.from(t.tokenHash),
            t.keyId,
            t.backendId,
            t.wrappingHandle,
            t.wrappingKeySpec,
            t.wrappingAlgorithm,
            Buffer.from(t.publicKey),
            t.createdAt.getTime(),
            t.validTo.getTime(),
          ],
        );
      }),
    );
  }

  async find(tokenHash: Uint8Array): Promise<ImportTokenRecord | undefined> {
    const { rows } = await guarded('find import token', () =>
      this.#pool.query<Row>('SELECT * FROM import_tokens WHERE token_hash = $1', [Buffer.from(tokenHash)]),
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async use(tokenHash: Uint8Array, now: Date, material?: ImportedMaterial): Promise<'done' | 'token' | 'key'> {
    try {
      await guarded('use import token', () =>
        inTransaction(this.#pool, async (c) => {
          const used = await c.query(`UPDATE import_tokens SET state = 'used' WHERE token_hash = $1 AND state = 'open' AND valid_to > $2`, [
            Buffer.from(tokenHash),
            now.getTime(),
          ]);
          if (used.rowCount !== 1) throw new NotDone('token');
          if (!material) return;
          const adopted = await c.query(
            `UPDATE keys SET handle = $1, public_key = $2, key_state = 'Enabled' WHERE key_id = $3 AND key_state = 'PendingImport' AND handle = ''`,
            [material.handle, Buffer.from(material.publicKey), material.keyId],
          );
          if (adopted.rowCount !== 1) throw new NotDone('key');
        }),
      );
    } catch (e) {
      if (e instanceof NotDone) return e.why;
      throw e;
    }
    if (material) await this.#feed.read();
    return 'done';
  }

  async forCleanup(now: Date): Promise<ImportTokenRecord[]> {
    const { rows } = await guarded('import tokens for cleanup', () =>
      this.#pool.query<Row>(`SELECT * FROM import_tokens WHERE NOT wrapping_deleted AND (state <> 'open' OR valid_to <= $1) ORDER BY created_at`, [
        now.getTime(),
      ]),
    );
    return rows.map(toRecord);
  }

  async wrappingDeleted(tokenHash: Uint8Array): Promise<void> {
    await guarded('import token wrapping key deleted', () =>
      inTransaction(this.#pool, async (c) => {
        await c.query('UPDATE import_tokens SET wrapping_deleted = TRUE WHERE token_hash = $1', [Buffer.from(tokenHash)]);
        await c.query('DELETE FROM import_tokens WHERE wrapping_deleted AND key_id NOT IN (SELECT key_id FROM keys)');
      }),
    );
  }
}
