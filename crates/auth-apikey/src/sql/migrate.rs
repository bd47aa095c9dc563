//! The migrations auth-apikey ships. `auth_core::sql::Migrator` applies them on request and
//! records them in `auth_apikey_migrations`.

use auth_core::sql::{Migration, Migrator};

/// Every migration, in order. Never edit a shipped one: add the next.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "api keys",
    sqlite: include_str!("../../migrations/sqlite/0001_api_keys.sql"),
    postgres: include_str!("../../migrations/postgres/0001_api_keys.sql"),
}];

/// The migrations, their bookkeeping table, and the advisory lock that makes concurrent
/// `migrate` calls on PostgreSQL take turns ("authapik" in ASCII).
pub(super) const MIGRATOR: Migrator =
    Migrator::new("auth_apikey_migrations", 0x6175_7468_6170_696b, MIGRATIONS);
