-- auth-oauth2 migration 1 (PostgreSQL): the token service's clients, tokens, codes, consents.
--
-- No secret and no token is ever stored: `secret_hash` is the SHA-256 of a client secret,
-- `hash` the SHA-256 of a refresh token, an opaque access token or an authorization code
-- (each 256 random bits). Times are unix time in microseconds (`*_us`); NULL means
-- "never" / "not yet". Scopes are space-delimited (RFC 6749 section 3.3); lists of URIs
-- (audiences, redirect URIs) are JSON arrays of strings. Ids compare byte for byte
-- (COLLATE "C"), as the in-memory stores do.

-- Registered clients.
CREATE TABLE auth_oauth2_clients (
    id                      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret_hash             BYTEA   NOT NULL CHECK (octet_length(secret_hash) = 32),
    grants                  TEXT    NOT NULL DEFAULT '',
    scopes                  TEXT    NOT NULL DEFAULT '',
    default_scopes          TEXT    NOT NULL DEFAULT '',
    audiences               TEXT    NOT NULL DEFAULT '[]',
    introspection_audiences TEXT    NOT NULL DEFAULT '[]',
    redirect_uris           TEXT    NOT NULL DEFAULT '[]',
    refresh_tokens          BOOLEAN NOT NULL DEFAULT FALSE,
    is_public               BOOLEAN NOT NULL DEFAULT FALSE,
    disabled                BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_us           BIGINT  NOT NULL,
    secret_rotated_at_us    BIGINT
);

-- Refresh tokens, by hash; a family is revoked together.
CREATE TABLE auth_oauth2_refresh_tokens (
    hash                 BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    family_id            TEXT COLLATE "C" NOT NULL,
    client_id            TEXT COLLATE "C" NOT NULL,
    subject              TEXT COLLATE "C" NOT NULL,
    scopes               TEXT    NOT NULL DEFAULT '',
    audience             TEXT    NOT NULL,
    first_party          BOOLEAN NOT NULL,
    issued_at_us         BIGINT  NOT NULL,
    expires_at_us        BIGINT  NOT NULL,
    family_expires_at_us BIGINT  NOT NULL,
    access_token_id      TEXT    NOT NULL,
    access_expires_at_us BIGINT  NOT NULL,
    rotated              BOOLEAN NOT NULL DEFAULT FALSE,
    revoked              BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX auth_oauth2_refresh_tokens_family ON auth_oauth2_refresh_tokens (family_id);
CREATE INDEX auth_oauth2_refresh_tokens_expires ON auth_oauth2_refresh_tokens (expires_at_us);

-- Opaque access tokens, by hash.
CREATE TABLE auth_oauth2_access_tokens (
    hash          BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    token_id      TEXT    NOT NULL,
    family_id     TEXT COLLATE "C",
    client_id     TEXT COLLATE "C" NOT NULL,
    subject       TEXT COLLATE "C" NOT NULL,
    scopes        TEXT    NOT NULL DEFAULT '',
    audience      TEXT    NOT NULL,
    issued_at_us  BIGINT  NOT NULL,
    expires_at_us BIGINT  NOT NULL,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX auth_oauth2_access_tokens_family ON auth_oauth2_access_tokens (family_id);
CREATE INDEX auth_oauth2_access_tokens_expires ON auth_oauth2_access_tokens (expires_at_us);

-- Authorization codes, by hash: `used` once taken, `replayed` once presented again.
CREATE TABLE auth_oauth2_codes (
    hash                 BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    client_id            TEXT COLLATE "C" NOT NULL,
    redirect_uri         TEXT    NOT NULL,
    code_challenge       TEXT,
    subject              TEXT COLLATE "C" NOT NULL,
    scopes               TEXT    NOT NULL DEFAULT '',
    audience             TEXT    NOT NULL,
    family_id            TEXT COLLATE "C" NOT NULL,
    nonce                TEXT,
    issued_at_us         BIGINT  NOT NULL,
    expires_at_us        BIGINT  NOT NULL,
    access_token_id      TEXT,
    access_expires_at_us BIGINT,
    used                 BOOLEAN NOT NULL DEFAULT FALSE,
    replayed             BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX auth_oauth2_codes_expires ON auth_oauth2_codes (expires_at_us);

-- Remembered consent: one row per scope granted, plus one with scope '' (no scope token
-- is empty, RFC 6749 section 3.3) that records the grant itself.
CREATE TABLE auth_oauth2_consents (
    subject       TEXT COLLATE "C" NOT NULL,
    client_id     TEXT COLLATE "C" NOT NULL,
    scope         TEXT COLLATE "C" NOT NULL,
    granted_at_us BIGINT NOT NULL,
    PRIMARY KEY (subject, client_id, scope)
);
