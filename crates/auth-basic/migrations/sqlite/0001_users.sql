-- auth-basic migration 1 (SQLite): users and their password hashes.
--
-- Passwords are never stored: `password_hash` holds a PHC string ($argon2id$...) or, for
-- users migrating in, a bcrypt hash ($2y$...). The CHECK refuses anything else that does not
-- start with '$', so a plaintext password written by mistake is refused by the database.
-- `scopes` is the space-delimited scope list (RFC 6749 section 3.3).
CREATE TABLE auth_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL CHECK (username <> ''),
    password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$%'),
    scopes        TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- Every login looks a user up by exact name: unique, and the lookup's index.
CREATE UNIQUE INDEX auth_users_username ON auth_users (username);
