/**
 * kmsgate's own versioned migrations for PostgreSQL, applied in order; `schema_version` records how
 * many have run. Like SQLite's `user_version` check (packages/store store-location.ts), a database
 * migrated by a newer kmsgate is refused rather than written with an older schema in mind. Two
 * gateways starting at once migrate one after the other (an advisory lock held for the transaction).
 *
 * Append only: a migration that has shipped is never edited, and the next one gets the next index.
 */
import { GENESIS_HASH } from '@kmsgate/store';
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './faults';

export const MIGRATIONS: readonly string[] = [
  // 1: the signing gates' state (docs/scale-out.md). Times are epoch milliseconds of the database's
  // clock; amounts are exact NUMERIC(78,0) (2^256 has 78 digits).
  `
  CREATE TABLE kill_switches (
    target        TEXT PRIMARY KEY,          -- '*' for the global switch, else a key id
    engaged_at    BIGINT NOT NULL,
    engaged_by    TEXT NOT NULL,
    reason        TEXT
  );
  CREATE TABLE signing_policies (
    selector      TEXT PRIMARY KEY,          -- a key id or an alias name
    policy        TEXT NOT NULL,             -- JSON, validated by @kmsgate/policy when set and on every use
    updated_at    BIGINT NOT NULL,
    updated_by    TEXT NOT NULL
  );

  -- One entry per signature a key with a policy made or is making ('reserved' until the device
  -- answers). A reservation holds its request's replay fingerprint while the device signs.
  CREATE TABLE signing_ledger (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id        TEXT NOT NULL,
    at            BIGINT NOT NULL,
    request_id    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'committed')),
    fingerprint   BYTEA
  );
  CREATE INDEX signing_ledger_window ON signing_ledger (key_id, at);
  CREATE INDEX signing_ledger_age ON signing_ledger (at);
  CREATE INDEX signing_ledger_pending ON signing_ledger (fingerprint) WHERE fingerprint IS NOT NULL;
  CREATE TABLE signing_ledger_amounts (
    entry_id      BIGINT NOT NULL REFERENCES signing_ledger (id) ON DELETE CASCADE,
    key_id        TEXT NOT NULL,
    asset         TEXT NOT NULL,
    at            BIGINT NOT NULL,
    amount        NUMERIC(78, 0) NOT NULL CHECK (amount >= 0)
  );
  CREATE INDEX signing_ledger_amounts_window ON signing_ledger_amounts (key_id, asset, at) INCLUDE (amount);
  CREATE INDEX signing_ledger_amounts_entry ON signing_ledger_amounts (entry_id);

  CREATE TABLE replay_cache (
    fingerprint   BYTEA PRIMARY KEY,         -- SHA-256 of key, API key, algorithm, message type, format and message
    key_id        TEXT NOT NULL,
    signature     BYTEA NOT NULL,
    expires_at    BIGINT NOT NULL
  );
  CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);

  -- Counts every write to the tables gateways keep views of (change-feed.ts), whichever gateway makes it.
  CREATE TABLE change_version (
    only_row      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    n             BIGINT NOT NULL
  );
  INSERT INTO change_version (n) VALUES (0);
  CREATE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE change_version SET n = n + 1;
      RETURN NULL;
    END
  $$;
  CREATE TRIGGER kill_switches_counted AFTER INSERT OR UPDATE OR DELETE ON kill_switches FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TRIGGER signing_policies_counted AFTER INSERT OR UPDATE OR DELETE ON signing_policies FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  `,
  // 2: keys, aliases, tags, the custom key stores served, and API keys with their scopes (pg-keys.ts,
  // pg-api-keys.ts). Names that pages are ordered by compare byte by byte (COLLATE "C"), as on
  // SQLite, whatever the database's locale. Writes to what gateways keep views of are counted in
  // change_version (api_keys: every column but last_used_at, a hint written once a minute per key).
  `
  CREATE TABLE keys (
    key_id        TEXT COLLATE "C" PRIMARY KEY,
    created_at    BIGINT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    key_usage     TEXT NOT NULL,
    key_spec      TEXT NOT NULL,
    key_state     TEXT NOT NULL,
    origin        TEXT NOT NULL,
    backend_id    TEXT NOT NULL,
    handle        TEXT NOT NULL,
    public_key    BYTEA NOT NULL,
    deletion_date BIGINT,
    policy        TEXT
  );
  CREATE INDEX keys_pending_deletion ON keys (key_state, deletion_date);
  CREATE TABLE aliases (
    alias_name    TEXT COLLATE "C" PRIMARY KEY,
    key_id        TEXT COLLATE "C" NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
  );
  CREATE INDEX aliases_key ON aliases (key_id);
  CREATE TABLE key_tags (
    key_id        TEXT COLLATE "C" NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    tag_key       TEXT COLLATE "C" NOT NULL,
    tag_value     TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
  );
  CREATE TABLE custom_key_stores (
    backend_id    TEXT PRIMARY KEY,
    created_at    BIGINT NOT NULL
  );
  CREATE TABLE api_keys (
    id            TEXT COLLATE "C" PRIMARY KEY,
    label         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'signer')),
    api_key_hash  BYTEA NOT NULL UNIQUE,
    access_key_id TEXT NOT NULL UNIQUE,
    sealed_secret BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT,
    expires_at    BIGINT,
    scoped        BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE api_key_scopes (
    api_key_id    TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    selector      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (api_key_id, selector)
  );
  CREATE TRIGGER keys_counted AFTER INSERT OR UPDATE OR DELETE ON keys FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TRIGGER aliases_counted AFTER INSERT OR UPDATE OR DELETE ON aliases FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TRIGGER api_keys_counted AFTER INSERT OR DELETE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TRIGGER api_keys_update_counted AFTER UPDATE OF label, role, api_key_hash, access_key_id, sealed_secret, revoked_at, expires_at, scoped
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TRIGGER api_key_scopes_counted AFTER INSERT OR UPDATE OR DELETE ON api_key_scopes FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  `,
  // 3: key rotation of SYMMETRIC_DEFAULT keys and import tokens (pg-key-rotations.ts,
  // pg-import-tokens.ts), as SQLite's migrations 7 and 9. Materials are read on every Encrypt and
  // Decrypt, so their writes are counted; the rest is read only by writes and sweeps. A running
  // rotation's age is measured on the database's clock (started_db_at), so gateways whose clocks
  // disagree agree on when it has gone stale.
  `
  CREATE TABLE key_materials (
    key_id        TEXT COLLATE "C" NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    handle        TEXT NOT NULL,
    rotated_at    BIGINT NOT NULL,
    rotation_type TEXT NOT NULL CHECK (rotation_type IN ('AUTOMATIC', 'ON_DEMAND')),
    PRIMARY KEY (key_id, version)
  );
  CREATE TRIGGER key_materials_counted AFTER INSERT OR UPDATE OR DELETE ON key_materials FOR EACH STATEMENT EXECUTE FUNCTION count_change();
  CREATE TABLE key_rotation (
    key_id        TEXT COLLATE "C" PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    period_days   INTEGER,
    anchor_at     BIGINT,
    started_at    BIGINT,                    -- the claiming gateway's clock, as reported (OnDemandRotationStartDate)
    started_db_at BIGINT,                    -- the database's clock at the claim: what staleness is measured on
    started_type  TEXT CHECK (started_type IN ('AUTOMATIC', 'ON_DEMAND'))
  );
  CREATE INDEX key_rotation_schedule ON key_rotation (period_days, anchor_at);
  CREATE TABLE import_tokens (
    token_hash         BYTEA PRIMARY KEY,
    key_id             TEXT COLLATE "C" NOT NULL,
    backend_id         TEXT NOT NULL,
    wrapping_handle    TEXT NOT NULL,
    wrapping_key_spec  TEXT NOT NULL,
    wrapping_algorithm TEXT NOT NULL,
    public_key         BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    valid_to           BIGINT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('open', 'used', 'superseded')),
    wrapping_deleted   BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE INDEX import_tokens_key ON import_tokens (key_id, state);
  CREATE INDEX import_tokens_cleanup ON import_tokens (wrapping_deleted, valid_to);
  `,
  // 4: the device-log witness's state (pg-device-logs.ts), as SQLite's migrations 5 and 12: every
  // YubiHSM 2 log entry kept, how far each backend's reconciliation has got, and the witness lease
  // (its expiry on the database's clock).
  `
  CREATE TABLE hsm_log_entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order entries were kept in
    serial        BIGINT NOT NULL,
    number        INTEGER NOT NULL,          -- the device's entry number (mod 2^16)
    command       INTEGER NOT NULL,
    length        INTEGER NOT NULL,
    session_key   INTEGER NOT NULL,
    target_key    INTEGER NOT NULL,
    second_key    INTEGER NOT NULL,
    result        INTEGER NOT NULL,
    tick          INTEGER NOT NULL,
    digest        BYTEA NOT NULL,            -- 16 bytes, chained by the device
    read_at       BIGINT NOT NULL
  );
  CREATE INDEX hsm_log_entries_device ON hsm_log_entries (serial, id);
  CREATE TABLE hsm_reconcile_state (
    backend_id    TEXT PRIMARY KEY,
    audit_seq     BIGINT NOT NULL,
    carried       TEXT NOT NULL,             -- JSON [[object id, records not yet matched], …]
    updated_at    BIGINT NOT NULL
  );
  CREATE TABLE hsm_witness_lease (
    backend_id    TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    until         BIGINT NOT NULL
  );
  `,
  // 5: the audit log, one hash chain for every gateway (pg-audit-log.ts, docs/audit.md): the records
  // as on SQLite plus the gateway that wrote each (covered by its hash), and the chain's head in a
  // row of its own that every append locks (FOR UPDATE), so appends from all gateways take turns
  // and each gets the seq and prev_hash after the last committed one. Append-only, as on SQLite.
  `
  CREATE TABLE audit_log (
    seq           BIGINT PRIMARY KEY,        -- 1, 2, 3, … without gaps, across all gateways
    at            BIGINT NOT NULL,           -- epoch milliseconds, the database's clock at the append
    request_id    TEXT NOT NULL,
    api_key_id    TEXT,
    operation     TEXT NOT NULL,
    key_id        TEXT,
    decision      TEXT NOT NULL,
    gate          TEXT,
    reason        TEXT,
    summary       TEXT,
    signed_digest TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    gateway       TEXT NOT NULL
  );
  CREATE INDEX audit_log_gateway ON audit_log (gateway, seq);
  CREATE TABLE audit_head (
    only_row      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL
  );
  INSERT INTO audit_head (seq, hash) VALUES (0, '${GENESIS_HASH}');
  CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END
  $$;
  CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
  `,
  // 6: which credential.key the gateways on this database hold (credential-key.ts, docs/scale-out.md):
  // a check value of it (HMAC-SHA-256 under the key of a fixed label; neither the key nor anything
  // it can be recovered from), written once by the first gateway or \`kmsgate init\` and compared by
  // every later start, so a gateway with another key is refused before it seals a secret.
  `
  CREATE TABLE credential_key_check (
    only_row      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    check_value   BYTEA NOT NULL CHECK (length(check_value) = 32),
    recorded_at   BIGINT NOT NULL           -- epoch milliseconds, the database's clock
  );
  `,
  // 7: a device log entry's tick is an unsigned 32-bit count (milliseconds since boot: past 2^31
  // after 25 days up; 0xffffffff in the entry a reset writes), which INTEGER cannot hold.
  `
  ALTER TABLE hsm_log_entries ALTER COLUMN tick TYPE BIGINT;
  `,
];

/** The database was migrated by a newer kmsgate: this one must not write to it. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/** Any 64-bit value; this one spells "kmsgate" and serializes migrations across gateways. */
const MIGRATION_LOCK = 0x6b6d7367617465n;

/** No kmsgate schema in the database, and the caller may not create one (every command but `kmsgate init` and the gateway). */
export class NoSchemaError extends Error {
  override readonly name = 'NoSchemaError';
}

/** Where `migrate` found the schema and where it left it (`from` 0: it was created). */
export interface Migrated {
  from: number;
  to: number;
}

/**
 * Brings the schema up to date (or refuses a newer one). Without `create`, a database with no
 * kmsgate schema is refused (NoSchemaError) and left as it is: only `kmsgate init` and the
 * gateway's start make one, never a command pointed at the wrong database.
 */
export async function migrate(pool: Pool, migrations: readonly string[] = MIGRATIONS, { create = true }: { create?: boolean } = {}): Promise<Migrated> {
  return await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    const current = await versionOf(client);
    if (current === 0 && !create) {
      throw new NoSchemaError(`no kmsgate schema in database ${await databaseName(client)}; run \`kmsgate init\` or start the gateway`);
    }
    if (current > migrations.length) {
      throw new SchemaTooNewError(`the database was migrated by a newer kmsgate (schema version ${current}; this one knows up to ${migrations.length})`);
    }
    if (current < migrations.length) {
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), version INTEGER NOT NULL)');
      for (let v = current; v < migrations.length; v++) await client.query(migrations[v]!);
      await client.query('INSERT INTO schema_version (version) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET version = excluded.version', [
        migrations.length,
      ]);
    }
    return { from: current, to: migrations.length };
  });
}

/** The schema version recorded in the database; 0 when it has no kmsgate schema. */
async function versionOf(client: PoolClient): Promise<number> {
  const { rows: table } = await client.query<{ t: string | null }>("SELECT to_regclass('schema_version')::text AS t");
  if (table[0]?.t == null) return 0;
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
  return rows[0]?.version ?? 0;
}

/** The database's name as messages show it (quoted); never its URL, which may hold a password. */
export async function databaseName(client: Pool | PoolClient): Promise<string> {
  const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
  return JSON.stringify(rows[0]!.name);
}
