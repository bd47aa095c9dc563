//! The migrations auth-basic ships. `auth_core::sql::Migrator` applies them on request and
//! records them in `auth_basic_migrations`.

use auth_core::sql::{Migration, Migrator};

/// Every migration, in order. Never edit a shipped one: add the next.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "users",
    sqlite: include_str!("../../migrations/sqlite/0001_users.sql"),
    postgres: include_str!("../../migrations/postgres/0001_users.sql"),
}];

/// The migrations, their bookkeeping table, and the advisory lock that makes concurrent
/// `migrate` calls on PostgreSQL take turns ("authbasi" in ASCII).
pub(super) const MIGRATOR: Migrator =
    Migrator::new("auth_basic_migrations", 0x6175_7468_6261_7369, MIGRATIONS);
