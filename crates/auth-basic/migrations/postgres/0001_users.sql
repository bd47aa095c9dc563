-- auth-basic migration 1 (PostgreSQL): users and their password hashes.
--
-- Passwords are never stored: `password_hash` holds a PHC string ($argon2id$...) or, for
-- users migrating in, a bcrypt hash ($2y$...). The CHECK refuses anything else that does not
-- start with '$', so a plaintext password written by mistake is refused by the database.
-- `scopes` is the space-delimited scope list (RFC 6749 section 3.3).
-- Names compare byte for byte (COLLATE "C"), as the in-memory store does.
CREATE TABLE auth_users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL CHECK (username <> ''),
    password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$%'),
    scopes        TEXT    NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

-- Every login looks a user up by exact name: unique, and the lookup's index.
CREATE UNIQUE INDEX auth_users_username ON auth_users (username);
