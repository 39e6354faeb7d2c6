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
  // 4: the signing gates' state (docs/policy.md): which keys each API key may use, policies set at
  // runtime (the configuration's are the baseline), kill switches, the signing ledger behind rate
  // limits and rolling caps, and the replay cache.
  `
  ALTER TABLE api_keys ADD COLUMN scoped INTEGER NOT NULL DEFAULT 0; -- 1: only the keys in api_key_scopes (none if it lists none)
  CREATE TABLE api_key_scopes (
    api_key_id    TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    selector      TEXT NOT NULL,             -- a key id or an alias name
    PRIMARY KEY (api_key_id, selector)
  ) WITHOUT ROWID;

  CREATE TABLE signing_policies (
    selector      TEXT PRIMARY KEY,          -- a key id or an alias name
    policy        TEXT NOT NULL,             -- JSON, validated by @kmsgate/policy when set and on every use
    updated_at    INTEGER NOT NULL,          -- epoch milliseconds
    updated_by    TEXT NOT NULL              -- an API key id, or 'cli'
  );

  CREATE TABLE kill_switches (
    target        TEXT PRIMARY KEY,          -- '*' for the global switch, else a key id
    engaged_at    INTEGER NOT NULL,
    engaged_by    TEXT NOT NULL,
    reason        TEXT
  );

  -- One entry per signature a key with a policy made or is making ('reserved' until the device answers).
  CREATE TABLE signing_ledger (
    id            INTEGER PRIMARY KEY,
    key_id        TEXT NOT NULL,
    at            INTEGER NOT NULL,          -- epoch milliseconds
    request_id    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'committed'))
  );
  CREATE INDEX signing_ledger_window ON signing_ledger (key_id, at);
  CREATE INDEX signing_ledger_age ON signing_ledger (at);
  -- What each entry moved, per asset, as eight little-endian 32-bit limbs so SUM() is exact up to 2^256.
  -- The covering index answers a rolling-cap query from the index alone.
  CREATE TABLE signing_ledger_amounts (
    entry_id      INTEGER NOT NULL REFERENCES signing_ledger (id) ON DELETE CASCADE,
    key_id        TEXT NOT NULL,
    asset         TEXT NOT NULL,
    at            INTEGER NOT NULL,
    l0 INTEGER NOT NULL, l1 INTEGER NOT NULL, l2 INTEGER NOT NULL, l3 INTEGER NOT NULL,
    l4 INTEGER NOT NULL, l5 INTEGER NOT NULL, l6 INTEGER NOT NULL, l7 INTEGER NOT NULL
  );
  CREATE INDEX signing_ledger_amounts_window ON signing_ledger_amounts (key_id, asset, at, l0, l1, l2, l3, l4, l5, l6, l7);
  CREATE INDEX signing_ledger_amounts_entry ON signing_ledger_amounts (entry_id);

  CREATE TABLE replay_cache (
    fingerprint   BLOB PRIMARY KEY,          -- SHA-256 of key, API key, algorithm, message type, format and message
    key_id        TEXT NOT NULL,
    signature     BLOB NOT NULL,
    expires_at    INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);
  `,
  // 5: YubiHSM 2 device logs as read by `kmsgate hsm audit` (the device forgets an entry once it is
  // released), and how far each backend's reconciliation with audit_log has got.
  `
  CREATE TABLE hsm_log_entries (
    id            INTEGER PRIMARY KEY,       -- the order entries were read in
    serial        INTEGER NOT NULL,          -- the device that logged it
    number        INTEGER NOT NULL,          -- the device's entry number (mod 2^16)
    command       INTEGER NOT NULL,
    length        INTEGER NOT NULL,
    session_key   INTEGER NOT NULL,
    target_key    INTEGER NOT NULL,
    second_key    INTEGER NOT NULL,
    result        INTEGER NOT NULL,
    tick          INTEGER NOT NULL,
    digest        BLOB NOT NULL,             -- 16 bytes, chained by the device
    read_at       INTEGER NOT NULL           -- epoch milliseconds
  );
  CREATE INDEX hsm_log_entries_device ON hsm_log_entries (serial, id);

  CREATE TABLE hsm_reconcile_state (
    backend_id    TEXT PRIMARY KEY,
    audit_seq     INTEGER NOT NULL,          -- audit_log records up to here are reconciled
    carried       TEXT NOT NULL,             -- JSON [[object id, records not yet matched], …]
    updated_at    INTEGER NOT NULL
  );
  `,
  // 6: a count of writes to what the request path caches (read-cache.ts): every table a cached read
  // depends on must bump it on every write. api_keys.last_used_at is a hint written once a minute per
  // key and is left out; a column added to api_keys later must be added to its UPDATE OF list.
  `
  CREATE TABLE store_version (
    n             INTEGER NOT NULL
  );
  INSERT INTO store_version (n) VALUES (0);
  CREATE TRIGGER keys_insert_counted AFTER INSERT ON keys BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER keys_update_counted AFTER UPDATE ON keys BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER keys_delete_counted AFTER DELETE ON keys BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER aliases_insert_counted AFTER INSERT ON aliases BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER aliases_update_counted AFTER UPDATE ON aliases BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER aliases_delete_counted AFTER DELETE ON aliases BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_key_scopes_insert_counted AFTER INSERT ON api_key_scopes BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_key_scopes_update_counted AFTER UPDATE ON api_key_scopes BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_key_scopes_delete_counted AFTER DELETE ON api_key_scopes BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER signing_policies_insert_counted AFTER INSERT ON signing_policies BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER signing_policies_update_counted AFTER UPDATE ON signing_policies BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER signing_policies_delete_counted AFTER DELETE ON signing_policies BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER kill_switches_insert_counted AFTER INSERT ON kill_switches BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER kill_switches_update_counted AFTER UPDATE ON kill_switches BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER kill_switches_delete_counted AFTER DELETE ON kill_switches BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_keys_insert_counted AFTER INSERT ON api_keys BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_keys_delete_counted AFTER DELETE ON api_keys BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER api_keys_update_counted AFTER UPDATE OF label, role, api_key_hash, access_key_id, sealed_secret, revoked_at, scoped
    ON api_keys BEGIN UPDATE store_version SET n = n + 1; END;
  `,
  // 7: import tokens (GetParametersForImport → ImportKeyMaterial). Rows outlive their use so a used,
  // superseded or expired token keeps its own error; a row goes once its wrapping key is deleted from
  // the device and its key is gone.
  `
  CREATE TABLE import_tokens (
    token_hash         BLOB PRIMARY KEY,      -- SHA-256 of the ImportToken; the token itself is never stored
    key_id             TEXT NOT NULL,
    backend_id         TEXT NOT NULL,
    wrapping_handle    TEXT NOT NULL,         -- the RSA wrapping key pair in the backend
    wrapping_key_spec  TEXT NOT NULL,
    wrapping_algorithm TEXT NOT NULL,
    public_key         BLOB NOT NULL,         -- the wrapping key's DER SPKI, as handed out
    created_at         INTEGER NOT NULL,      -- epoch milliseconds
    valid_to           INTEGER NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('open', 'used', 'superseded')),
    wrapping_deleted   INTEGER NOT NULL DEFAULT 0  -- 1 once the wrapping key is gone from the backend
  ) WITHOUT ROWID;
  CREATE INDEX import_tokens_key ON import_tokens (key_id, state);
  CREATE INDEX import_tokens_cleanup ON import_tokens (wrapping_deleted, valid_to);
  `,
  // 8: which installation this store is (packages/store/src/installation.ts): made once, here, and
  // carried by every data-dir backup, so that a restore can refuse a backup of another one.
  `
  CREATE TABLE installation (
    id            TEXT NOT NULL,             -- 32 lowercase hex characters, random
    created_at    INTEGER NOT NULL           -- epoch milliseconds
  );
  INSERT INTO installation (id, created_at) VALUES (lower(hex(randomblob(16))), CAST(strftime('%s', 'now') AS INTEGER) * 1000);
  `,
  // 9: key rotation of SYMMETRIC_DEFAULT keys (packages/store/src/key-rotations.ts): every key
  // material after a key's first (version 0 is keys.handle), and each key's automatic rotation
  // schedule and running rotation. Materials are read on every Encrypt and Decrypt, so their writes
  // are counted for the read cache (migration 6).
  `
  CREATE TABLE key_materials (
    key_id        TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    handle        TEXT NOT NULL,             -- the backend object that holds it
    rotated_at    INTEGER NOT NULL,          -- epoch milliseconds: when it became the current material
    rotation_type TEXT NOT NULL CHECK (rotation_type IN ('AUTOMATIC', 'ON_DEMAND')),
    PRIMARY KEY (key_id, version)
  ) WITHOUT ROWID;
  CREATE TRIGGER key_materials_insert_counted AFTER INSERT ON key_materials BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER key_materials_update_counted AFTER UPDATE ON key_materials BEGIN UPDATE store_version SET n = n + 1; END;
  CREATE TRIGGER key_materials_delete_counted AFTER DELETE ON key_materials BEGIN UPDATE store_version SET n = n + 1; END;

  CREATE TABLE key_rotation (
    key_id        TEXT PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    period_days   INTEGER,                   -- automatic rotation every this many days; NULL: disabled
    anchor_at     INTEGER,                   -- epoch ms: when it was enabled or last rotated automatically
    started_at    INTEGER,                   -- epoch ms: a rotation is running since then (NULL: none)
    started_type  TEXT CHECK (started_type IN ('AUTOMATIC', 'ON_DEMAND'))
  ) WITHOUT ROWID;
  CREATE INDEX key_rotation_schedule ON key_rotation (period_days, anchor_at);
  `,
  // 10: API keys that expire (`api-key generate --expires-in`). NULL: never. The read cache's
  // trigger (migration 6) must count a change of the new column too, so it is made again with it.
  `
  ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;  -- epoch milliseconds; refused from this instant on
  DROP TRIGGER api_keys_update_counted;
  CREATE TRIGGER api_keys_update_counted AFTER UPDATE OF label, role, api_key_hash, access_key_id, sealed_secret, revoked_at, scoped, expires_at
    ON api_keys BEGIN UPDATE store_version SET n = n + 1; END;
  `,
  // 11: a reservation claims its request's replay fingerprint while the device signs, so a second
  // gateway on the same store waits for that signature instead of making another (docs/scale-out.md).
  // NULL once committed, when the replay cache is off, and once the reservation is stale (reaped).
  `
  ALTER TABLE signing_ledger ADD COLUMN fingerprint BLOB;
  CREATE INDEX signing_ledger_pending ON signing_ledger (fingerprint) WHERE fingerprint IS NOT NULL;
  `,
  // 12: who witnesses a backend's device logs now (hsm-log.ts, contract/device-logs.ts): a gateway's
  // device-log witness or `kmsgate hsm audit` holds the lease while it reads, keeps and releases the
  // entries, so two never keep the same entries twice.
  `
  CREATE TABLE hsm_witness_lease (
    backend_id    TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    until         INTEGER NOT NULL           -- epoch milliseconds: after this another witness may take it over
  ) WITHOUT ROWID;
  `,
];
