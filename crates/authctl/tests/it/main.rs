//! `authctl` driven as a process: every subcommand, against SQLite in a temporary directory,
//! PostgreSQL (a schema per run) and Redis (a namespace per run) when they answer — skipped
//! with a message otherwise, required under `AUTH_REQUIRE_SERVICES=1` as in the `auth-tests`
//! suites — and against the demo server.

mod apikey;
mod demo;
mod general;
mod hmac;
mod jwt;
mod oauth;
mod password;
mod session;
mod support;
mod user;
