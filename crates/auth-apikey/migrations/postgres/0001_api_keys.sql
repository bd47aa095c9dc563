-- auth-apikey migration 1 (PostgreSQL): API key records.
--
-- Keys are never stored: `key_hash` is the 32-byte SHA-256 (or HMAC-SHA256 under the
-- server's pepper) of the key. `id` is the public id (`key_...`), unrelated to the key.
-- Times are unix time in microseconds (`*_us`); NULL means "never" / "not yet".
-- `scopes` is the space-delimited scope list (RFC 6749 section 3.3).
-- Ids and owners compare and sort byte for byte (COLLATE "C"), as the in-memory store does.
CREATE TABLE auth_api_keys (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    key_hash        BYTEA  NOT NULL CHECK (octet_length(key_hash) = 32),
    owner           TEXT COLLATE "C" NOT NULL,
    name            TEXT   NOT NULL,
    scopes          TEXT   NOT NULL DEFAULT '',
    created_at_us   BIGINT NOT NULL,
    expires_at_us   BIGINT,
    last_used_at_us BIGINT,
    revoked_at_us   BIGINT,
    rotated_to      TEXT COLLATE "C",
    rotated_from    TEXT COLLATE "C"
);

-- The lookup of every verification: one probe of a unique index.
CREATE UNIQUE INDEX auth_api_keys_key_hash ON auth_api_keys (key_hash);
-- Listing an owner's keys, oldest first, straight from the index.
CREATE INDEX auth_api_keys_owner ON auth_api_keys (owner, created_at_us, id);
