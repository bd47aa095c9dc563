-- auth-apikey migration 1 (SQLite): API key records.
--
-- Keys are never stored: `key_hash` is the 32-byte SHA-256 (or HMAC-SHA256 under the
-- server's pepper) of the key. `id` is the public id (`key_...`), unrelated to the key.
-- Times are unix time in microseconds (`*_us`); NULL means "never" / "not yet".
-- `scopes` is the space-delimited scope list (RFC 6749 section 3.3).
CREATE TABLE auth_api_keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    key_hash        BLOB    NOT NULL CHECK (length(key_hash) = 32),
    owner           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    scopes          TEXT    NOT NULL DEFAULT '',
    created_at_us   INTEGER NOT NULL,
    expires_at_us   INTEGER,
    last_used_at_us INTEGER,
    revoked_at_us   INTEGER,
    rotated_to      TEXT,
    rotated_from    TEXT
) STRICT;

-- The lookup of every verification: one probe of a unique index.
CREATE UNIQUE INDEX auth_api_keys_key_hash ON auth_api_keys (key_hash);
-- Listing an owner's keys, oldest first, straight from the index.
CREATE INDEX auth_api_keys_owner ON auth_api_keys (owner, created_at_us, id);
