//! The migrations auth-oauth2 ships. `auth_core::sql::Migrator` applies them on request and
//! records them in `auth_oauth2_migrations`.

use auth_core::sql::{Migration, Migrator};

/// Every migration, in order. Never edit a shipped one: add the next.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "oauth2 clients, tokens, codes and consents",
    sqlite: include_str!("../../../migrations/sqlite/0001_oauth2.sql"),
    postgres: include_str!("../../../migrations/postgres/0001_oauth2.sql"),
}];

/// The migrations, their bookkeeping table, and the advisory lock that makes concurrent
/// `migrate` calls on PostgreSQL take turns ("authoaut" in ASCII).
pub(super) const MIGRATOR: Migrator =
    Migrator::new("auth_oauth2_migrations", 0x6175_7468_6f61_7574, MIGRATIONS);
