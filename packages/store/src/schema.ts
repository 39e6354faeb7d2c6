/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
 * Append only: never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE keys (
    key_id        TEXT PRIMARY KEY,
    created_at    INTEGER NOT NULL,          -- epoch milliseconds
    description   TEXT NOT NULL DEFAULT '',
    key_usage     TEXT NOT NULL,
    key_spec      TEXT NOT NULL,
    key_state     TEXT NOT NULL,
    origin        TEXT NOT NULL,
    backend_id    TEXT NOT NULL,
    handle        TEXT NOT NULL,             -- backend's own reference (YubiHSM 2 object id)
    public_key    BLOB NOT NULL,             -- DER SPKI; public, cached so Verify needs no device call
    deletion_date INTEGER,
    policy        TEXT
  );
  CREATE INDEX keys_created ON keys (created_at, key_id);

  CREATE TABLE aliases (
    alias_name    TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  CREATE INDEX aliases_key ON aliases (key_id);

  CREATE TABLE key_tags (
    key_id        TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    tag_key       TEXT NOT NULL,
    tag_value     TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
  );

  CREATE TABLE api_keys (
    id                TEXT PRIMARY KEY,
    label             TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('admin', 'signer')),
    api_key_hash      BLOB NOT NULL UNIQUE,  -- SHA-256 of the x-api-key value; the value itself is never stored
    access_key_id     TEXT NOT NULL UNIQUE,
    sealed_secret     BLOB NOT NULL,         -- SigV4 secret, AES-256-GCM under the credential sealing key
    created_at        INTEGER NOT NULL,
    revoked_at        INTEGER,
    last_used_at      INTEGER
  );
  `,
  // 2: when each backend was first served as a custom key store (DescribeCustomKeyStores
  // CreationDate), so the date survives restarts.
  `
  CREATE TABLE custom_key_stores (
    backend_id    TEXT PRIMARY KEY,
    created_at    INTEGER NOT NULL           -- epoch milliseconds
  );
  CREATE INDEX keys_pending_deletion ON keys (key_state, deletion_date);
  `,
  // 3: the audit log. Append-only and hash-chained: each record's hash commits to the previous
  // record's hash, so an edited, removed or reordered record breaks the chain from there on.
  `
  CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,       -- 1, 2, 3, … without gaps
    at            INTEGER NOT NULL,          -- epoch milliseconds
    request_id    TEXT NOT NULL,
    api_key_id    TEXT,                      -- the key's id, never the secret
    operation     TEXT NOT NULL,
    key_id        TEXT,
    decision      TEXT NOT NULL,             -- accept | deny | replay | admin
    gate          TEXT,                      -- auth | decode | policy | replay | backend
    reason        TEXT,                      -- stable reason code
    summary       TEXT,                      -- JSON: what the decoder saw
    signed_digest TEXT,                      -- hex SHA-256 of the bytes the device signed
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
  );
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
];
