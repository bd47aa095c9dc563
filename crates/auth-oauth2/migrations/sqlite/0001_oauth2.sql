-- auth-oauth2 migration 1 (SQLite): the token service's clients, tokens, codes, consents.
--
-- No secret and no token is ever stored: `secret_hash` is the SHA-256 of a client secret,
-- `hash` the SHA-256 of a refresh token, an opaque access token or an authorization code
-- (each 256 random bits). Times are unix time in microseconds (`*_us`); NULL means
-- "never" / "not yet". Scopes are space-delimited (RFC 6749 section 3.3); lists of URIs
-- (audiences, redirect URIs) are JSON arrays of strings.

-- Registered clients.
CREATE TABLE auth_oauth2_clients (
    id                      TEXT    NOT NULL PRIMARY KEY,
    secret_hash             BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    grants                  TEXT    NOT NULL DEFAULT '',
    scopes                  TEXT    NOT NULL DEFAULT '',
    default_scopes          TEXT    NOT NULL DEFAULT '',
    audiences               TEXT    NOT NULL DEFAULT '[]',
    introspection_audiences TEXT    NOT NULL DEFAULT '[]',
    redirect_uris           TEXT    NOT NULL DEFAULT '[]',
    refresh_tokens          INTEGER NOT NULL DEFAULT 0 CHECK (refresh_tokens IN (0, 1)),
    is_public               INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
    disabled                INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at_us           INTEGER NOT NULL,
    secret_rotated_at_us    INTEGER
) STRICT;

-- Refresh tokens, by hash; a family is revoked together.
CREATE TABLE auth_oauth2_refresh_tokens (
    hash                 BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    family_id            TEXT    NOT NULL,
    client_id            TEXT    NOT NULL,
    subject              TEXT    NOT NULL,
    scopes               TEXT    NOT NULL DEFAULT '',
    audience             TEXT    NOT NULL,
    first_party          INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    issued_at_us         INTEGER NOT NULL,
    expires_at_us        INTEGER NOT NULL,
    family_expires_at_us INTEGER NOT NULL,
    access_token_id      TEXT    NOT NULL,
    access_expires_at_us INTEGER NOT NULL,
    rotated              INTEGER NOT NULL DEFAULT 0 CHECK (rotated IN (0, 1)),
    revoked              INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_oauth2_refresh_tokens_family ON auth_oauth2_refresh_tokens (family_id);
CREATE INDEX auth_oauth2_refresh_tokens_expires ON auth_oauth2_refresh_tokens (expires_at_us);

-- Opaque access tokens, by hash.
CREATE TABLE auth_oauth2_access_tokens (
    hash          BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    token_id      TEXT    NOT NULL,
    family_id     TEXT,
    client_id     TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    scopes        TEXT    NOT NULL DEFAULT '',
    audience      TEXT    NOT NULL,
    issued_at_us  INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_oauth2_access_tokens_family ON auth_oauth2_access_tokens (family_id);
CREATE INDEX auth_oauth2_access_tokens_expires ON auth_oauth2_access_tokens (expires_at_us);

-- Authorization codes, by hash: `used` once taken, `replayed` once presented again.
CREATE TABLE auth_oauth2_codes (
    hash                 BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    client_id            TEXT    NOT NULL,
    redirect_uri         TEXT    NOT NULL,
    code_challenge       TEXT,
    subject              TEXT    NOT NULL,
    scopes               TEXT    NOT NULL DEFAULT '',
    audience             TEXT    NOT NULL,
    family_id            TEXT    NOT NULL,
    nonce                TEXT,
    issued_at_us         INTEGER NOT NULL,
    expires_at_us        INTEGER NOT NULL,
    access_token_id      TEXT,
    access_expires_at_us INTEGER,
    used                 INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    replayed             INTEGER NOT NULL DEFAULT 0 CHECK (replayed IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_oauth2_codes_expires ON auth_oauth2_codes (expires_at_us);

-- Remembered consent: one row per scope granted, plus one with scope '' (no scope token
-- is empty, RFC 6749 section 3.3) that records the grant itself.
CREATE TABLE auth_oauth2_consents (
    subject       TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    granted_at_us INTEGER NOT NULL,
    PRIMARY KEY (subject, client_id, scope)
) STRICT, WITHOUT ROWID;
